import * as tf from '@tensorflow/tfjs-core';
import { nativeDtype } from '../native-backend.js';
import { attrs, backendOf, input, type KernelArgs, type NativeKernel } from './common.js';

function reshape(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const shape = tf.util.inferFromImplicitShape(attrs<tf.ReshapeAttrs>(args).shape, tf.util.sizeFromShape(x.shape));
  const b = backendOf(args);
  // A native view: new dataId, shared storage (counted once in numBytesInNative).
  return b.output(b.addon.reshape(b.tensor(x), shape), x.dtype, shape);
}

function identity(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  backendOf(args).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function transpose(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const b = backendOf(args);
  return b.output(b.addon.transpose(b.tensor(x), attrs<tf.TransposeAttrs>(args).perm), x.dtype);
}

function slice(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const a = attrs<tf.SliceAttrs>(args);
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, a.begin, a.size);
  const b = backendOf(args);
  return b.output(b.addon.slice(b.tensor(x), begin, size), x.dtype, size);
}

function pad(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const { paddings, constantValue } = attrs<tf.PadV2Attrs>(args);
  const b = backendOf(args);
  return b.output(b.addon.pad(b.tensor(x), paddings.flat(), constantValue), x.dtype);
}

function concat(args: KernelArgs): tf.TensorInfo {
  const xs = args.inputs as unknown as tf.TensorInfo[];
  const [axis] = tf.util.parseAxisParam(attrs<tf.ConcatAttrs>(args).axis, xs[0].shape);
  const b = backendOf(args);
  return b.output(b.addon.concat(xs.map((t) => b.tensor(t)), axis), xs[0].dtype);
}

function tile(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const b = backendOf(args);
  return b.output(b.addon.tile(b.tensor(x), attrs<tf.TileAttrs>(args).reps), x.dtype);
}

function oneHot(args: KernelArgs): tf.TensorInfo {
  const indices = input(args, 'indices');
  const { depth, onValue, offValue, dtype } = attrs<tf.OneHotAttrs>(args);
  const b = backendOf(args);
  return b.output(b.addon.oneHot(b.tensor(indices), depth, onValue, offValue, nativeDtype(dtype)), dtype);
}

function gather(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const indices = input(args, 'indices');
  const { axis, batchDims } = attrs<tf.GatherV2Attrs>(args);
  if ((batchDims ?? 0) !== 0) throw new Error('GatherV2 with batchDims on the native backend is not supported');
  const [ax] = tf.util.parseAxisParam(axis, x.shape);
  const b = backendOf(args);
  return b.output(b.addon.gather(b.tensor(x), b.tensor(indices), ax), x.dtype);
}

function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const ids = input(args, 'segmentIds');
  const b = backendOf(args);
  return b.output(b.addon.unsortedSegmentSum(b.tensor(x), b.tensor(ids), attrs<tf.UnsortedSegmentSumAttrs>(args).numSegments), x.dtype);
}

export const shapeKernels: NativeKernel[] = [
  { kernelName: tf.Reshape, kernelFunc: reshape },
  { kernelName: tf.Identity, kernelFunc: identity },
  { kernelName: tf.Transpose, kernelFunc: transpose },
  { kernelName: tf.Slice, kernelFunc: slice },
  { kernelName: tf.PadV2, kernelFunc: pad },
  { kernelName: tf.Concat, kernelFunc: concat },
  { kernelName: tf.Tile, kernelFunc: tile },
  { kernelName: tf.OneHot, kernelFunc: oneHot },
  { kernelName: tf.GatherV2, kernelFunc: gather },
  { kernelName: tf.UnsortedSegmentSum, kernelFunc: unsortedSegmentSum },
];
