import * as tf from '@tensorflow/tfjs-core';
import { registerFastConvGradients } from '../../../engine/backend/fast-conv-grads.js';
import { ensureGradients } from '../../../engine/backend/gradients.js';
// Vite copies each binary into the build (hashed) and gives its URL: the
// coordinator serves them, no CDN.
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

export type BrowserBackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Fastest first. */
export const BROWSER_BACKENDS: readonly BrowserBackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export interface BackendChoice {
  name: BrowserBackendName;
  /** e.g. 'webgpu (google swiftshader)', 'wasm (SIMD, 1 thread)'. */
  detail: string;
  /** The GPU backend runs on a software rasteriser (SwiftShader, llvmpipe): WebAssembly is usually faster then. */
  software: boolean;
  /** One line per faster backend that was skipped, saying why, e.g. 'WebGPU unavailable: no adapter'. */
  skipped: string[];
}

const LABEL: Record<BrowserBackendName, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WebAssembly', cpu: 'CPU' };

const SOFTWARE_GPU = /swiftshader|llvmpipe|lavapipe|software/i;

interface Activated {
  detail: string;
  software: boolean;
}

/** Thrown by a probe with the reason a backend cannot be used. */
class Unavailable extends Error {}

interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  description?: string;
}
interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
  isFallbackAdapter?: boolean;
}
interface NavigatorGpu {
  gpu?: { requestAdapter(opts?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null> };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}

async function makeCurrent(name: BrowserBackendName): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (err: unknown) {
    throw new Unavailable(`tf.setBackend('${name}') threw: ${firstLine(err)}`);
  }
  if (!ok) throw new Unavailable(`tf.setBackend('${name}') failed to initialise it`);
  await tf.ready();
  // A backend that initialises but cannot compute is no better than none.
  const probe = tf.tidy(() => tf.add(tf.scalar(2), tf.scalar(3)));
  const value = (await probe.data())[0];
  probe.dispose();
  if (value !== 5) throw new Unavailable(`a test addition gave ${value}, not 5`);
}

async function activateWebGpu(): Promise<Activated> {
  const gpu = (navigator as Navigator & NavigatorGpu).gpu;
  if (!gpu) throw new Unavailable('navigator.gpu is missing (this browser has no WebGPU, or it is disabled)');
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err: unknown) {
    throw new Unavailable(`requestAdapter() threw: ${firstLine(err)}`);
  }
  if (!adapter) throw new Unavailable('no adapter (the browser offers no WebGPU device here)');
  await import('@tensorflow/tfjs-backend-webgpu');
  await makeCurrent('webgpu');
  const info = adapter.info;
  const what = [info?.vendor, info?.architecture, info?.description].filter((s) => s !== undefined && s !== '').join(' ');
  const fallback = adapter.isFallbackAdapter === true ? 'software fallback adapter' : '';
  const parts = [what, fallback].filter((s) => s !== '');
  return { detail: parts.length > 0 ? `webgpu (${parts.join(', ')})` : 'webgpu', software: fallback !== '' || SOFTWARE_GPU.test(what) };
}

async function activateWebGl(): Promise<Activated> {
  const canvas = document.createElement('canvas');
  const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
  if (!gl) throw new Unavailable('no WebGL context (GPU blocked or disabled)');
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
  await import('@tensorflow/tfjs-backend-webgl');
  await makeCurrent('webgl');
  // Training needs float32 render targets; without them gradients come out as float16 garbage.
  if (!tf.env().getBool('WEBGL_RENDER_FLOAT32_CAPABLE')) {
    throw new Unavailable('the WebGL context cannot render to float32 textures, which training needs');
  }
  return { detail: `webgl (WebGL ${tf.env().getNumber('WEBGL_VERSION')}${renderer ? `, ${renderer}` : ''})`, software: SOFTWARE_GPU.test(renderer) };
}

async function activateWasm(): Promise<Activated> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlainUrl,
    'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
  });
  await makeCurrent('wasm');
  // wasm lacks Conv2DBackpropFilter (and more); these make it train, and fast.
  registerFastConvGradients('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = wasm.getThreadsCount();
  return { detail: `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'})`, software: false };
}

async function activateCpu(): Promise<Activated> {
  await import('@tensorflow/tfjs-backend-cpu');
  await makeCurrent('cpu');
  registerFastConvGradients('cpu');
  return { detail: 'cpu (pure JavaScript)', software: false };
}

const ACTIVATE: Record<BrowserBackendName, () => Promise<Activated>> = {
  webgpu: activateWebGpu,
  webgl: activateWebGl,
  wasm: activateWasm,
  cpu: activateCpu,
};

/**
 * Makes the fastest working TensorFlow.js backend current (WebGPU, WebGL,
 * WebAssembly, CPU, or only `forced`), with tfjs-core's gradients registered,
 * and says why each faster one was skipped.
 */
export async function selectBrowserBackend(forced?: BrowserBackendName, log: (msg: string) => void = () => {}): Promise<BackendChoice> {
  const skipped: string[] = [];
  for (const name of forced === undefined ? BROWSER_BACKENDS : [forced]) {
    try {
      const { detail, software } = await ACTIVATE[name]();
      await ensureGradients();
      return { name, detail, software, skipped };
    } catch (err: unknown) {
      const why = `${LABEL[name]} unavailable: ${firstLine(err)}`;
      // The whole error (stack) for whoever opens the console; the page shows one line.
      if (!(err instanceof Unavailable)) console.warn(`${LABEL[name]} failed:`, err);
      skipped.push(why);
      log(why);
    }
  }
  throw new Error(`no TensorFlow.js backend could be initialised: ${skipped.join('; ')}`);
}
