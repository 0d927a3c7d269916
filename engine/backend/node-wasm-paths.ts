// Node-only (node:module, node:fs): kept apart so browser bundles never pull it in.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';

/**
 * The folder (with trailing separator) holding tfjs-backend-wasm's .wasm binaries,
 * resolved from the installed package, or null when they are not there. Emscripten
 * would look next to the script that loads it, which breaks once code is bundled.
 */
export function nodeWasmBinaryDir(): string | null {
  const main = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  const dir = dirname(main);
  return existsSync(join(dir, 'tfjs-backend-wasm-simd.wasm')) ? dir + sep : null;
}
