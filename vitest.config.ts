import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // swc emits decorator metadata, which NestJS's dependency injection reads
  // (Vite's default transform drops it).
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['test/**/*.test.ts'],
    // tfjs keeps one global engine per process: forks keep test files apart.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // 2-core CI: two files at a time keeps the wasm kernels from starving each other.
    maxWorkers: 2,
  },
});
