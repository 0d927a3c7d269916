import * as tf from '@tensorflow/tfjs-core';
import { filterGradient, inputGradient, patchFilterGradient } from './conv-grad-math.js';
import { convGeometry, type ConvGeometry } from './conv-geometry.js';
import { input, KernelOps, type KernelArgs } from './kernel-ops.js';
import { registerMissingWasmKernels } from './missing-kernels.js';

export type FastGradBackendName = 'wasm' | 'cpu' | 'webgpu';

/** Marks our kernel functions, so registering twice (even from two module copies) is a no-op. */
const FAST = Symbol.for('contsup.fastConvGradient');

type Marked = tf.KernelFunc & { [FAST]?: true };

const TO_NHWC = [0, 2, 3, 1];
const TO_NCHW = [0, 3, 1, 2];

/** Anything our identities do not cover goes to the stock kernel (or fails loudly). */
function supported(g: ConvGeometry, dtypes: tf.DataType[]): boolean {
  const pads = [g.padTop, g.padBottom, g.padLeft, g.padRight];
  return dtypes.every((d) => d === 'float32') && pads.every((p) => p >= 0) && g.sh >= 1 && g.sw >= 1 && g.kh >= 1 && g.kw >= 1;
}

function isEmpty(g: ConvGeometry): boolean {
  return g.batch * g.inH * g.inW * g.inC * g.outH * g.outW * g.outC === 0;
}

function fallback(name: string, previous: tf.KernelFunc | undefined, args: KernelArgs): tf.TensorInfo {
  if (previous === undefined) throw new Error(`${name}: this convolution is outside what the fast kernel supports and the backend has no stock kernel`);
  const out = previous(args);
  return Array.isArray(out) ? out[0] : out;
}

function makeFilterKernel(backendName: FastGradBackendName, previous: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const x = input(args, 'x');
    const dy = input(args, 'dy');
    const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const g = convGeometry(x.shape, a.filterShape, dy.shape, a.strides, a.pad, a.dataFormat, a.dimRoundingMode);
    if (!supported(g, [x.dtype, dy.dtype])) return fallback(tf.Conv2DBackpropFilter, previous, args);
    const ops = new KernelOps(backendName, args.backend);
    try {
      if (isEmpty(g)) return ops.keep(ops.zeros(a.filterShape));
      const nchw = a.dataFormat === 'NCHW';
      const xs = nchw ? ops.transpose(x, TO_NHWC) : x;
      const dys = nchw ? ops.transpose(dy, TO_NHWC) : dy;
      // On a GPU the im2col product; on the CPU backends the conv form, measured faster there.
      const grad = backendName === 'webgpu' ? patchFilterGradient : filterGradient;
      return ops.keep(grad(ops, xs, dys, g));
    } finally {
      ops.disposeTemps();
    }
  };
}

function makeInputKernel(backendName: FastGradBackendName, previous: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const dy = input(args, 'dy');
    const filter = input(args, 'filter');
    const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const g = convGeometry(a.inputShape, filter.shape, dy.shape, a.strides, a.pad, a.dataFormat, a.dimRoundingMode);
    if (!supported(g, [dy.dtype, filter.dtype])) return fallback(tf.Conv2DBackpropInput, previous, args);
    const ops = new KernelOps(backendName, args.backend);
    try {
      if (isEmpty(g)) return ops.keep(ops.zeros(a.inputShape));
      const nchw = a.dataFormat === 'NCHW';
      const dx = inputGradient(ops, nchw ? ops.transpose(dy, TO_NHWC) : dy, filter, g);
      return ops.keep(nchw ? ops.transpose(dx, TO_NCHW) : dx);
    } finally {
      ops.disposeTemps();
    }
  };
}

const FACTORIES: Array<[string, (b: FastGradBackendName, prev: tf.KernelFunc | undefined) => tf.KernelFunc]> = [
  [tf.Conv2DBackpropFilter, makeFilterKernel],
  [tf.Conv2DBackpropInput, makeInputKernel],
];

/**
 * webgpu keeps its own input gradient (a real GPU kernel; ours reads the filter
 * back to the CPU) and gets only the filter gradient, which is naive there.
 */
function factoriesFor(backendName: string): typeof FACTORIES {
  return backendName === 'webgpu' ? FACTORIES.filter(([name]) => name === tf.Conv2DBackpropFilter) : FACTORIES;
}

/**
 * Replaces Conv2DBackpropFilter / Conv2DBackpropInput of `backendName` by kernels that
 * run the backend's own forward Conv2D (wasm lacks the filter gradient entirely and
 * its input gradient is ~10x slower than a forward conv; the cpu backend's are ~100x
 * slower than its forward conv; webgpu's filter gradient is one thread per weight).
 * On wasm it also adds the other kernels training needs. Idempotent.
 */
export function registerFastConvGradients(backendName: FastGradBackendName): void {
  for (const [kernelName, make] of factoriesFor(backendName)) {
    const existing = tf.getKernel(kernelName, backendName) as tf.KernelConfig | undefined;
    if ((existing?.kernelFunc as Marked | undefined)?.[FAST]) continue;
    if (existing !== undefined) tf.unregisterKernel(kernelName, backendName);
    const kernelFunc: Marked = make(backendName, existing?.kernelFunc);
    kernelFunc[FAST] = true;
    // Keep the stock setup: the stock kernel stays our fallback and needs it.
    tf.registerKernel({ kernelName, backendName, kernelFunc, setupFunc: existing?.setupFunc, disposeFunc: existing?.disposeFunc });
  }
  if (backendName === 'wasm') registerMissingWasmKernels();
}

/** True when `backendName` currently runs our conv gradient kernels. */
export function hasFastConvGradients(backendName: string): boolean {
  return factoriesFor(backendName).every(([name]) => {
    const k = tf.getKernel(name, backendName) as tf.KernelConfig | undefined;
    return (k?.kernelFunc as Marked | undefined)?.[FAST] === true;
  });
}
