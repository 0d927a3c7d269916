import * as tf from '@tensorflow/tfjs-core';
import { NODE_BACKEND_NAMES, type NodeBackendName } from './backend-names.js';
import { activateCpu, activateWasm, chooseBackend, firstLine, makeCurrent, type Activated, type BackendEntry } from './backend-choice.js';

// Node only (devices, `contsup train`); the browser page has web/src/device/backend.ts.
// The Node-only helpers stay behind dynamic imports, so a bundle that reaches
// this file anyway does not pull in node:module.

interface NodeBackendEntry<N extends string> extends BackendEntry<N> {
  /** What to do when this backend is asked for by name and does not load. */
  howToFix: string;
}

async function activateNative(specifier: string, detail: string): Promise<Activated> {
  try {
    await import(specifier);
  } catch (err: unknown) {
    const missing = (err as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' && firstLine(err).includes(specifier);
    throw new Error(missing ? `${specifier} is not installed` : `${specifier} failed to load (${firstLine(err)})`, { cause: err });
  }
  await makeCurrent('tensorflow');
  return { detail, software: false };
}

async function nodeWasmPaths(wasm: typeof import('@tensorflow/tfjs-backend-wasm')): Promise<void> {
  const { nodeWasmBinaryDir } = await import('./node-wasm-paths.js');
  const dir = nodeWasmBinaryDir();
  if (dir !== null) wasm.setWasmPaths(dir);
}

// Variables, not literals: tsc and bundlers leave these imports alone, so this compiles without the packages.
const TFJS_NODE_GPU: string = '@tensorflow/tfjs-node-gpu';
const TFJS_NODE: string = '@tensorflow/tfjs-node';

/** Fastest first. tfjs-node(-gpu) are optional dependencies: often not installed. */
const NODE_BACKENDS = [
  {
    name: 'tensorflow-gpu',
    activate: () => activateNative(TFJS_NODE_GPU, 'tensorflow (libtensorflow, GPU build)'),
    howToFix:
      'tfjs-node-gpu needs its install script and CUDA 11.2 + cuDNN 8.1: run `npm install @tensorflow/tfjs-node-gpu && ' +
      'npm install-scripts approve @tensorflow/tfjs-node-gpu && npm rebuild @tensorflow/tfjs-node-gpu` (it downloads ' +
      'libtensorflow; set TFJS_NODE_CDN_STORAGE to a mirror where that host is unreachable), or use --backend wasm',
  },
  {
    name: 'webgpu',
    // Automatically only on a hardware adapter: lavapipe is far slower than wasm.
    activate: async (opts) => (await import('./node-webgpu.js')).activateNodeWebGpu(opts),
    howToFix:
      'install the optional dependency `webgpu` (dawn.node) and a Vulkan driver: `apt-get install libvulkan1` plus the ' +
      'GPU vendor driver, or Mesa 25 `mesa-vulkan-drivers` (lavapipe, software) from bookworm-backports; or use --backend wasm',
  },
  {
    name: 'tensorflow',
    activate: () => activateNative(TFJS_NODE, 'tensorflow (libtensorflow, CPU)'),
    howToFix:
      'tfjs-node needs its install script: run `npm install @tensorflow/tfjs-node && npm install-scripts approve ' +
      '@tensorflow/tfjs-node && npm rebuild @tensorflow/tfjs-node` (it downloads libtensorflow; set ' +
      'TFJS_NODE_CDN_STORAGE to a mirror where that host is unreachable), or use --backend wasm',
  },
  {
    name: 'native',
    activate: async () => ({ detail: await (await import('./native/activate.js')).activateAten(), software: false }),
    howToFix:
      'install libtorch (`apt-get install libtorch-dev`, or a python `torch`, or LIBTORCH=/path/to/libtorch) and run ' +
      '`npm run build:native` (engine/native), or use --backend wasm',
  },
  {
    name: 'wasm',
    activate: () => activateWasm(nodeWasmPaths),
    howToFix: 'reinstall @tensorflow/tfjs-backend-wasm (its dist/*.wasm files must exist), or use --backend cpu',
  },
  { name: 'cpu', activate: () => activateCpu(), howToFix: 'reinstall @tensorflow/tfjs-backend-cpu' },
] as const satisfies readonly NodeBackendEntry<NodeBackendName>[];

// backend-names.ts lists the names without loading tfjs; this table must name the same backends in the same order.
type TableNames = (typeof NODE_BACKENDS)[number]['name'];
const sameNames: [TableNames, NodeBackendName] extends [NodeBackendName, TableNames] ? true : never = true;
void sameNames;
if (NODE_BACKENDS.some((b, i) => b.name !== NODE_BACKEND_NAMES[i])) throw new Error('select-backend.ts and backend-names.ts list different backends');

let description: string | null = null;
let adapter: string | null = null;

/** What selectBackend may be asked besides the backend's name. */
export interface SelectBackendOptions {
  /** CPU threads the backend may use (default: its own choice, all cores for native). wasm and cpu in Node run one. */
  threads?: number;
}

/** Threads the current backend computes with: native's ATen thread count, else 1 (wasm in Node and cpu are single-threaded). */
export async function backendThreads(): Promise<number> {
  if (tf.getBackend() !== 'native') return 1;
  return (await import('./native/activate.js')).nativeThreadsInUse();
}

/**
 * Makes a TensorFlow.js backend current and ready to train: `requested`, or else the
 * fastest that loads (tensorflow-gpu, webgpu on a hardware adapter, tensorflow, wasm,
 * cpu), logging one line per backend skipped. A software WebGPU adapter is used only
 * when `requested` is 'webgpu'. Also registers tfjs-core's gradients and, on wasm and cpu, the fast
 * conv gradient kernels. Throws, saying how to fix it, when `requested` cannot load.
 */
export async function selectBackend(requested?: NodeBackendName, log: (msg: string) => void = () => {}, options: SelectBackendOptions = {}): Promise<NodeBackendName> {
  // Only native can honour a thread count; it reads it when it activates.
  if (options.threads !== undefined) (await import('./native/activate.js')).requestNativeThreads(options.threads);
  const entries: readonly NodeBackendEntry<NodeBackendName>[] = NODE_BACKENDS;
  const choice = await chooseBackend(
    entries,
    requested,
    {
      skipped: (name, err) => `backend ${name} skipped: ${firstLine(err)}`,
      forcedFailed: (name, err) => {
        const howToFix = entries.find((e) => e.name === name)?.howToFix ?? '';
        return new Error(`backend '${name}' is not available: ${firstLine(err)}. To fix: ${howToFix}.`, { cause: err });
      },
      none: (tried) => new Error(`no TensorFlow.js backend could be initialised (tried ${tried.join(', ')})`),
    },
    log,
  );
  description = choice.detail;
  adapter = choice.adapter ?? null;
  return choice.name;
}

/** The adapter the chosen GPU backend runs on (e.g. 'mesa software llvmpipe ..., software adapter'); null on a CPU backend. */
export function backendAdapter(): string | null {
  return tf.getBackend() === 'webgpu' ? adapter : null;
}

/** What selectBackend chose, e.g. 'wasm (SIMD, 1 thread)'; else tfjs's current backend name. */
export function describeBackend(): string {
  const current = tf.getBackend();
  if (description !== null && current === description.split(' ')[0]) return description;
  return current ?? 'none';
}
