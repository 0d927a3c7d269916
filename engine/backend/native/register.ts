// Node-only: the one place where the native backend and its kernels are registered.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeAddon, type NativeAddon } from './addon.js';
import { convKernels } from './kernels/conv.js';
import { elementwiseKernels } from './kernels/elementwise.js';
import { fusedKernels } from './kernels/fused.js';
import { matmulKernels } from './kernels/matmul.js';
import { reduceKernels } from './kernels/reduce.js';
import { shapeKernels } from './kernels/shape.js';
import { NativeBackend } from './native-backend.js';

export const NATIVE_BACKEND = 'native';

/** Every kernel the native backend has; anything else fails loudly (see nameTheAskingOp). */
export const NATIVE_KERNELS = [...convKernels, ...elementwiseKernels, ...reduceKernels, ...shapeKernels, ...matmulKernels, ...fusedKernels];

type RunKernel = (kernelName: string, inputs: tf.NamedTensorMap, attrs?: tf.NamedAttrMap) => tf.Tensor | tf.Tensor[];
interface EngineInternals {
  runKernel: RunKernel;
  backendName: string;
  state: { activeScope?: { name?: string } | null };
}

const NAMED = Symbol.for('contsup.nativeMissingKernelNamesOp');

/**
 * tfjs already throws "Kernel 'X' not registered for backend 'native'"; this adds
 * which op asked for it, so a missing kernel is found at once (never silently slow:
 * tfjs has no cross-backend fallback, and neither do we).
 */
function nameTheAskingOp(): void {
  const engine = tf.engine() as unknown as EngineInternals & { [NAMED]?: true };
  if (engine[NAMED]) return;
  const run = engine.runKernel.bind(engine);
  engine.runKernel = (kernelName, inputs, attrs) => {
    if (engine.backendName === NATIVE_BACKEND && (tf.getKernel(kernelName, NATIVE_BACKEND) as tf.KernelConfig | undefined) === undefined) {
      const op = engine.state.activeScope?.name ?? 'unknown op';
      throw new Error(`Kernel '${kernelName}' not registered for backend '${NATIVE_BACKEND}' (asked for by op '${op.replace(/__op$/, '')}')`);
    }
    return run(kernelName, inputs, attrs);
  };
  engine[NAMED] = true;
}

/** Registers backend `native` and its kernels (idempotent). Throws when the addon is not built. */
export function registerNativeBackend(): NativeAddon {
  const addon = loadNativeAddon();
  if (tf.findBackendFactory(NATIVE_BACKEND) === null) {
    // Priority below tfjs's defaults: only chosen when asked for by name.
    tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(addon), 0);
    for (const k of NATIVE_KERNELS) tf.registerKernel({ kernelName: k.kernelName, backendName: NATIVE_BACKEND, kernelFunc: k.kernelFunc });
  }
  nameTheAskingOp();
  return addon;
}

/** Sets the ATen thread count of the native backend; returns the count in use. */
export function setNativeThreads(n: number): number {
  const addon = loadNativeAddon();
  if (!Number.isInteger(n) || n < 1) throw new Error(`thread count must be a positive integer, got ${n}`);
  addon.setThreads(n);
  return addon.getThreads();
}

export function nativeThreads(): number {
  return loadNativeAddon().getThreads();
}
