import * as tf from '@tensorflow/tfjs-core';
import { nativeDtype } from '../native-backend.js';
import { attrs, backendOf, input, type KernelArgs, type NativeKernel } from './common.js';

/** tfjs's result dtype of each reduction. */
function resultDtype(op: string, x: tf.DataType): tf.DataType {
  if (op === 'Mean') return 'float32';
  if (op === 'All' || op === 'Any') return 'bool';
  if ((op === 'Sum' || op === 'Prod') && x === 'bool') return 'int32';
  return x;
}

function reduction(op: string): NativeKernel {
  return {
    kernelName: op,
    kernelFunc: (args: KernelArgs) => {
      const x = input(args, 'x');
      // Max names its axes `reductionIndices` (tfjs MaxAttrs); every other reduction `axis`.
      // Read as `axis`, Max reduced over all axes, which broke logSoftmax's row-wise shift.
      const a = attrs<tf.SumAttrs & Partial<tf.MaxAttrs>>(args);
      const axes = tf.util.parseAxisParam(op === 'Max' ? a.reductionIndices! : a.axis, x.shape);
      const { keepDims } = a;
      const dtype = resultDtype(op, x.dtype);
      const b = backendOf(args);
      return b.output(b.addon.reduce(op, b.tensor(x), axes, keepDims, nativeDtype(dtype)), dtype);
    },
  };
}

function argReduction(op: 'ArgMax' | 'ArgMin'): NativeKernel {
  return {
    kernelName: op,
    kernelFunc: (args: KernelArgs) => {
      const x = input(args, 'x');
      const [axis] = tf.util.parseAxisParam(attrs<tf.ArgMaxAttrs>(args).axis, x.shape);
      const b = backendOf(args);
      return b.output(b.addon.argReduce(op, b.tensor(x), axis), 'int32');
    },
  };
}

export const reduceKernels: NativeKernel[] = [
  ...['Sum', 'Mean', 'Prod', 'Max', 'Min', 'All', 'Any'].map(reduction),
  argReduction('ArgMax'),
  argReduction('ArgMin'),
];
