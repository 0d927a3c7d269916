import { defineConfig } from 'vitest/config';

export default defineConfig({
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
