import * as tf from '@tensorflow/tfjs-core';
import { attrs, backendOf, input, type KernelArgs, type NativeKernel } from './common.js';

function batchMatMul(args: KernelArgs): tf.TensorInfo {
  const a = input(args, 'a');
  const bIn = input(args, 'b');
  const { transposeA, transposeB } = attrs<tf.BatchMatMulAttrs>(args);
  const b = backendOf(args);
  return b.output(b.addon.batchMatMul(b.tensor(a), b.tensor(bIn), transposeA, transposeB), 'float32');
}

export const matmulKernels: NativeKernel[] = [{ kernelName: tf.BatchMatMul, kernelFunc: batchMatMul }];
