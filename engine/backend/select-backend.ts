import * as tf from '@tensorflow/tfjs-core';
import { registerFastConvGradients } from './fast-conv-grads.js';
import { ensureGradients } from './gradients.js';

// Browser bundles may import this module (for describeBackend and the fast kernels):
// everything Node-only is reached through dynamic imports inside Node-only branches.

export type NodeBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** Fastest first. tfjs-node(-gpu) are optional dependencies: often not installed. */
const PREFERENCE: NodeBackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

const NATIVE_PACKAGE: Partial<Record<NodeBackendName, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

const HOW_TO_FIX: Record<NodeBackendName, string> = {
  'tensorflow-gpu':
    'tfjs-node-gpu needs its install script and CUDA 11.2 + cuDNN 8.1: run `npm install @tensorflow/tfjs-node-gpu && ' +
    'npm install-scripts approve @tensorflow/tfjs-node-gpu && npm rebuild @tensorflow/tfjs-node-gpu` (it downloads ' +
    'libtensorflow; set TFJS_NODE_CDN_STORAGE to a mirror where that host is unreachable), or use --backend wasm',
  tensorflow:
    'tfjs-node needs its install script: run `npm install @tensorflow/tfjs-node && npm install-scripts approve ' +
    '@tensorflow/tfjs-node && npm rebuild @tensorflow/tfjs-node` (it downloads libtensorflow; set ' +
    'TFJS_NODE_CDN_STORAGE to a mirror where that host is unreachable), or use --backend wasm',
  wasm: 'reinstall @tensorflow/tfjs-backend-wasm (its dist/*.wasm files must exist), or use --backend cpu',
  cpu: 'reinstall @tensorflow/tfjs-backend-cpu',
};

/** What selectBackend may be asked besides the backend's name. */
export interface SelectBackendOptions {
  /**
   * CPU threads the backend may use (default: the backend's own choice). Only
   * native backends can honour it: wasm in Node runs one thread; see backendThreads().
   */
  threads?: number;
}

let description: string | null = null;
let threadsInUse: number | null = null;

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].trim();
}

async function makeCurrent(tfjsName: string): Promise<void> {
  if (!(await tf.setBackend(tfjsName))) throw new Error(`tf.setBackend('${tfjsName}') failed to initialise it`);
  await tf.ready();
}

async function activateNative(name: 'tensorflow-gpu' | 'tensorflow'): Promise<string> {
  // A variable specifier: tsc and bundlers leave it alone, so this compiles without the package.
  const specifier: string = NATIVE_PACKAGE[name] ?? '';
  try {
    await import(specifier);
  } catch (err: unknown) {
    const missing = (err as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' && firstLine(err).includes(specifier);
    throw new Error(missing ? `${specifier} is not installed` : `${specifier} failed to load (${firstLine(err)})`);
  }
  await makeCurrent('tensorflow');
  return name === 'tensorflow-gpu' ? 'tensorflow (libtensorflow, GPU build)' : 'tensorflow (libtensorflow, CPU)';
}

async function activateWasm(): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (isNode()) {
    // Only read when the backend first initialises; later calls change nothing.
    const { nodeWasmBinaryDir } = await import('./node-wasm-paths.js');
    const dir = nodeWasmBinaryDir();
    if (dir !== null) wasm.setWasmPaths(dir);
  }
  await makeCurrent('wasm');
  registerFastConvGradients('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = wasm.getThreadsCount();
  threadsInUse = threads;
  return `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'})`;
}

async function activateCpu(): Promise<string> {
  await import('@tensorflow/tfjs-backend-cpu');
  await makeCurrent('cpu');
  registerFastConvGradients('cpu');
  threadsInUse = 1;
  return 'cpu (pure JavaScript)';
}

// `options` reaches every activator so that a native backend can size its thread pool.
function activate(name: NodeBackendName, _options: SelectBackendOptions): Promise<string> {
  if (name === 'wasm') return activateWasm();
  if (name === 'cpu') return activateCpu();
  return activateNative(name);
}

/**
 * Makes a TensorFlow.js backend current and ready to train: `requested`, or else the
 * fastest that loads (tensorflow-gpu, tensorflow, wasm, cpu), logging one line per
 * backend skipped. Also registers tfjs-core's gradients and, on wasm and cpu, the fast
 * conv gradient kernels. Throws, saying how to fix it, when `requested` cannot load.
 */
export async function selectBackend(
  requested?: NodeBackendName,
  log: (msg: string) => void = () => {},
  options: SelectBackendOptions = {},
): Promise<NodeBackendName> {
  const candidates = requested === undefined ? PREFERENCE : [requested];
  for (const name of candidates) {
    try {
      threadsInUse = null;
      const detail = await activate(name, options);
      await ensureGradients();
      description = detail;
      return name;
    } catch (err: unknown) {
      if (requested !== undefined) {
        throw new Error(`backend '${name}' is not available: ${firstLine(err)}. To fix: ${HOW_TO_FIX[name]}.`);
      }
      log(`backend ${name} skipped: ${firstLine(err)}`);
    }
  }
  throw new Error('no TensorFlow.js backend could be initialised (tried tensorflow-gpu, tensorflow, wasm, cpu)');
}

/** CPU threads the chosen backend computes with; null when it does not say (libtensorflow). */
export function backendThreads(): number | null {
  return threadsInUse;
}

/** What selectBackend chose, e.g. 'wasm (SIMD, 1 thread)'; else tfjs's current backend name. */
export function describeBackend(): string {
  const current = tf.getBackend();
  if (description !== null && current === description.split(' ')[0]) return description;
  return current ?? 'none';
}
