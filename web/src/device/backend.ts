import * as tf from '@tensorflow/tfjs-core';
import { activateCpu, activateWasm, chooseBackend, firstLine, SoftwareAdapter, type Activated, type BackendChoice as Choice, type BackendEntry } from '../../../engine/backend/backend-choice.js';
// Vite copies each binary into the build (hashed) and gives its URL: the
// coordinator serves them, no CDN.
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

const SOFTWARE_GPU = /swiftshader|llvmpipe|lavapipe|software/i;

/** Thrown by a probe with the reason a backend cannot be used. */
class Unavailable extends Error {}

interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
  isFallbackAdapter?: boolean;
}
interface NavigatorGpu {
  gpu?: { requestAdapter(opts?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null> };
}

/** tf.setBackend + tf.ready, then a test addition: a browser backend can initialise and still not compute. */
async function makeCurrent(name: string): Promise<void> {
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

/** Why a software GPU waits until WebAssembly was tried. */
function softwareOnly(what: string): SoftwareAdapter {
  return new SoftwareAdapter(`software adapter (${what}): WebAssembly is usually several times faster; open /device?backend=webgpu to use it anyway`);
}

async function activateWebGpu({ allowSoftware }: { allowSoftware: boolean }): Promise<Activated> {
  const gpu = (navigator as Navigator & NavigatorGpu).gpu;
  if (!gpu) throw new Unavailable('navigator.gpu is missing (this browser has no WebGPU, or it is disabled)');
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err: unknown) {
    throw new Unavailable(`requestAdapter() threw: ${firstLine(err)}`);
  }
  if (!adapter) throw new Unavailable('no adapter (the browser offers no WebGPU device here)');
  const info = adapter.info;
  const what = [info?.vendor, info?.architecture, info?.description].filter((s) => s !== undefined && s !== '').join(' ');
  // Chromium moved isFallbackAdapter from the adapter into its info.
  const fallback = adapter.isFallbackAdapter === true || info?.isFallbackAdapter === true ? 'software fallback adapter' : '';
  const parts = [what, fallback].filter((s) => s !== '');
  const software = fallback !== '' || SOFTWARE_GPU.test(what);
  // Decided before the backend loads: a software adapter costs a slow start for nothing.
  if (software && !allowSoftware) throw softwareOnly(parts.join(', '));
  await import('@tensorflow/tfjs-backend-webgpu');
  await makeCurrent('webgpu');
  const adapterText = parts.join(', ').slice(0, 200);
  return { detail: parts.length > 0 ? `webgpu (${parts.join(', ')})` : 'webgpu', software, ...(adapterText !== '' ? { adapter: adapterText } : {}) };
}

async function activateWebGl({ allowSoftware }: { allowSoftware: boolean }): Promise<Activated> {
  const canvas = document.createElement('canvas');
  const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
  if (!gl) throw new Unavailable('no WebGL context (GPU blocked or disabled)');
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
  if (SOFTWARE_GPU.test(renderer) && !allowSoftware) throw softwareOnly(renderer);
  await import('@tensorflow/tfjs-backend-webgl');
  await makeCurrent('webgl');
  // Training needs float32 render targets; without them gradients come out as float16 garbage.
  if (!tf.env().getBool('WEBGL_RENDER_FLOAT32_CAPABLE')) {
    throw new Unavailable('the WebGL context cannot render to float32 textures, which training needs');
  }
  return { detail: `webgl (WebGL ${tf.env().getNumber('WEBGL_VERSION')}${renderer ? `, ${renderer}` : ''})`, software: SOFTWARE_GPU.test(renderer) };
}

function bundledWasmPaths(wasm: typeof import('@tensorflow/tfjs-backend-wasm')): void {
  wasm.setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlainUrl,
    'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
  });
}

/** Fastest first; `label` names a backend in the reasons the page shows. */
const BROWSER_ENTRIES = [
  { name: 'webgpu', label: 'WebGPU', activate: activateWebGpu },
  { name: 'webgl', label: 'WebGL', activate: activateWebGl },
  { name: 'wasm', label: 'WebAssembly', activate: () => activateWasm(bundledWasmPaths, makeCurrent) },
  { name: 'cpu', label: 'CPU', activate: () => activateCpu(makeCurrent) },
] as const satisfies readonly (BackendEntry<string> & { label: string })[];

export type BrowserBackendName = (typeof BROWSER_ENTRIES)[number]['name'];

/** Fastest first. */
export const BROWSER_BACKENDS: readonly BrowserBackendName[] = BROWSER_ENTRIES.map((e) => e.name);

/** The backend in use, e.g. detail 'webgpu (google swiftshader)', and why each faster one was skipped ('WebGPU unavailable: no adapter'). */
export type BackendChoice = Choice<BrowserBackendName>;

/**
 * Makes the fastest working TensorFlow.js backend current (WebGPU, WebGL,
 * WebAssembly, CPU, or only `forced`), with tfjs-core's gradients registered,
 * and says why each faster one was skipped. A GPU backend on a software
 * adapter (SwiftShader) ranks after WebAssembly unless forced.
 */
export async function selectBrowserBackend(forced?: BrowserBackendName, log: (msg: string) => void = () => {}): Promise<BackendChoice> {
  const label = (name: BrowserBackendName): string => BROWSER_ENTRIES.find((e) => e.name === name)?.label ?? name;
  return chooseBackend<BrowserBackendName>(
    BROWSER_ENTRIES,
    forced,
    {
      skipped: (name, err) => {
        // The whole error (stack) for whoever opens the console; the page shows one line.
        if (err instanceof SoftwareAdapter) return `${label(name)} ranked after WebAssembly: ${firstLine(err)}`;
        if (!(err instanceof Unavailable)) console.warn(`${label(name)} failed:`, err);
        return `${label(name)} unavailable: ${firstLine(err)}`;
      },
      none: (_tried, skipped) => new Error(`no TensorFlow.js backend could be initialised: ${skipped.join('; ')}`),
    },
    log,
    'wasm',
  );
}
