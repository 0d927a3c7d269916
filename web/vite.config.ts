import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/**
 * engine/backend reaches its Node-only helpers through dynamic imports inside
 * Node-only branches; in the browser bundle they become stubs instead of
 * chunks that would pull in node:vm and node:module.
 */
function nodeOnlyStubs(): Plugin {
  const STUB = '\0contsup-node-only';
  return {
    name: 'contsup-node-only-stubs',
    enforce: 'pre',
    resolveId(source, importer) {
      if (/\/node-(gradients|wasm-paths)\.js$/.test(source) && importer !== undefined && /[\\/]engine[\\/]backend[\\/]/.test(importer)) return STUB;
      return null;
    },
    load(id) {
      if (id !== STUB) return null;
      return [
        "export function loadCoreGradientsInNode() { throw new Error('Node only: the browser registers gradients from tfjs-core/dist/register_all_gradients'); }",
        'export function nodeWasmBinaryDir() { return null; }',
      ].join('\n');
    },
  };
}

/**
 * The coordinator's front end: the dashboard (`/`, index.html) and the
 * browser device page (`/device`, device.html), built into dist/web and
 * served by the coordinator (server/dashboard/static.assets.ts). No CDN:
 * every script, style and .wasm binary is in the build.
 */
export default defineConfig({
  root: here('.'),
  base: '/',
  // Nothing to copy verbatim: the wasm binaries are imported with ?url and hashed.
  publicDir: false,
  logLevel: 'warn',
  plugins: [nodeOnlyStubs()],
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    // .vite/manifest.json also tells the coordinator this folder is a build (static.assets.ts).
    manifest: true,
    target: 'es2022',
    // tfjs-core alone is ~600 kB minified; the device page loads it once.
    chunkSizeWarningLimit: 1200,
    // A .wasm binary must stay a file: setWasmPaths points tfjs at it.
    assetsInlineLimit: (file) => (file.endsWith('.wasm') ? false : undefined),
    rollupOptions: {
      input: { index: here('index.html'), device: here('device.html') },
    },
  },
});
