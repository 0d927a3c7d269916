import * as tf from '@tensorflow/tfjs-core';
import { input, KernelOps, type KernelArgs } from './kernel-ops.js';

// Kernels that gradients of our models reach but the wasm backend (tfjs 4.22) lacks.
// Conv2DBackpropFilter is handled in fast-conv-grads.ts.

/** Gradient of tf.gather: sums rows of x into numSegments buckets by segment id. */
function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const segmentIds = input(args, 'segmentIds');
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const ops = new KernelOps('wasm', args.backend);
  try {
    const n = tf.util.sizeFromShape(segmentIds.shape);
    const inner = x.shape.slice(segmentIds.shape.length);
    const outShape = [numSegments, ...inner];
    const ids = ops.read(segmentIds);
    let valid = true;
    for (let i = 0; i < n; i++) if (!(ids[i] >= 0 && ids[i] < numSegments)) valid = false;
    if (valid && x.dtype === 'float32') {
      // ScatterNd adds updates that share an index, which is exactly a segment sum.
      const indices = ops.reshape(segmentIds, [n, 1]);
      return ops.keep(ops.scatterNd(indices, ops.reshape(x, [n, ...inner]), outShape));
    }
    // TensorFlow drops out-of-range ids; ScatterNd would write outside the buffer.
    return ops.keep(segmentSumInJs(ops, ops.read(x), ids, n, outShape, x.dtype));
  } finally {
    ops.disposeTemps();
  }
}

function segmentSumInJs(
  ops: KernelOps,
  values: ArrayLike<number>,
  ids: ArrayLike<number>,
  n: number,
  outShape: number[],
  dtype: tf.DataType,
): tf.TensorInfo {
  const numSegments = outShape[0];
  const inner = tf.util.sizeFromShape(outShape.slice(1));
  const out = dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < n; i++) {
    const s = ids[i];
    if (!(s >= 0 && s < numSegments)) continue;
    for (let j = 0; j < inner; j++) out[s * inner + j] += values[i * inner + j];
  }
  return ops.fromValues(out, outShape, dtype);
}

/** Registers the missing training kernels on wasm (idempotent). */
export function registerMissingWasmKernels(): void {
  if ((tf.getKernel(tf.UnsortedSegmentSum, 'wasm') as tf.KernelConfig | undefined) !== undefined) return;
  tf.registerKernel({ kernelName: tf.UnsortedSegmentSum, backendName: 'wasm', kernelFunc: unsortedSegmentSum });
}
