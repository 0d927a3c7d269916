import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCurrent, SoftwareAdapter, type Activated } from './backend-choice.js';
import { registerFastConvGradients } from './fast-conv-grads.js';

// WebGPU inside Node through dawn.node (npm package `webgpu`, an optional
// dependency): the same tfjs backend the browser devices use, on any GPU with
// a Vulkan driver, or on Mesa's lavapipe in CI.

/** What dawn.node says about its adapter (the fields of GPUAdapterInfo we use). */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  /** A software implementation (lavapipe, SwiftShader): slower than the CPU backends. */
  software: boolean;
}

interface DawnAdapter {
  info?: { vendor?: string; architecture?: string; description?: string; device?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}
interface DawnGpu {
  requestAdapter(opts?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<DawnAdapter | null>;
}
interface DawnModule {
  create(flags: string[]): DawnGpu;
  globals: Record<string, unknown>;
}

// A variable, not a literal: tsc and bundlers leave the import alone, so this compiles without the package.
const WEBGPU_PACKAGE: string = 'webgpu';

const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|software/i;

/** Software when the adapter says it is a fallback, or names a software rasteriser. */
export function toAdapterInfo(adapter: DawnAdapter): AdapterInfo {
  const info = adapter.info ?? {};
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const description = info.description ?? info.device ?? '';
  const fallback = info.isFallbackAdapter === true || adapter.isFallbackAdapter === true;
  return { vendor, architecture, description, software: fallback || SOFTWARE_NAMES.test(`${vendor} ${architecture} ${description}`) };
}

/** e.g. 'mesa software llvmpipe (LLVM 15.0.6), software adapter': bounded, for logs and the join message. */
export function describeAdapter(a: AdapterInfo): string {
  const what = [a.vendor, a.architecture, a.description].filter((s) => s !== '').join(' ') || 'unnamed adapter';
  return `${what}${a.software ? ', software adapter' : ''}`.slice(0, 200);
}

let gpu: DawnGpu | null = null;

/** Creates dawn.node's navigator.gpu once and installs the WebGPU globals tfjs-backend-webgpu expects. */
async function nodeGpu(): Promise<DawnGpu> {
  if (gpu !== null) return gpu;
  let dawn: DawnModule;
  try {
    dawn = (await import(WEBGPU_PACKAGE)) as DawnModule;
  } catch (err: unknown) {
    const code = (err as { code?: unknown }).code;
    throw new Error(code === 'ERR_MODULE_NOT_FOUND' ? 'the webgpu package (dawn.node) is not installed' : `dawn.node failed to load (${String(err)})`, { cause: err });
  }
  // Mesa warns on every start without it; any writable folder will do.
  if (process.env.XDG_RUNTIME_DIR === undefined) {
    const dir = join(tmpdir(), `contsup-xdg-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  const created = dawn.create([]);
  const g = globalThis as { navigator?: { gpu?: unknown } };
  // Node 21+ has a global navigator without gpu: add to it rather than replace it.
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu: created }, configurable: true, writable: true });
  else Object.defineProperty(g.navigator, 'gpu', { value: created, configurable: true });
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  gpu = created;
  return created;
}

let adapterInfo: AdapterInfo | null = null;

/** The adapter dawn.node offers, or a reason it offers none. */
export async function probeNodeAdapter(): Promise<AdapterInfo> {
  const adapter = await (await nodeGpu()).requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) throw new Error('dawn.node found no WebGPU adapter (no Vulkan driver: install libvulkan1 and a GPU driver, or Mesa 25 lavapipe)');
  return toAdapterInfo(adapter);
}

/** The adapter the webgpu backend runs on, once it was activated; else null. */
export function nodeAdapter(): AdapterInfo | null {
  return adapterInfo;
}

/** Activates tfjs-backend-webgpu on dawn.node's adapter; a software one only when allowed. */
export async function activateNodeWebGpu({ allowSoftware }: { allowSoftware: boolean }): Promise<Activated> {
  const info = await probeNodeAdapter();
  if (info.software && !allowSoftware) {
    throw new SoftwareAdapter(`the only adapter is software (${describeAdapter(info)}), slower than the CPU backends: pass --backend webgpu to use it anyway`);
  }
  await import('@tensorflow/tfjs-backend-webgpu');
  await makeCurrent('webgpu');
  // tfjs-webgpu's filter gradient is one thread per weight looping over the batch: route it through Conv2D.
  registerFastConvGradients('webgpu');
  adapterInfo = info;
  return { detail: `webgpu (${describeAdapter(info)})`, software: info.software, adapter: describeAdapter(info) };
}
