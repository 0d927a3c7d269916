import * as tf from '@tensorflow/tfjs-core';
import { attrs, backendOf, input, type KernelArgs, type NativeKernel } from './common.js';

type Info = tf.backend_util.Conv2DInfo;

function nhwcOnly(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') throw new Error(`${kernel} on the native backend supports NHWC only, got ${dataFormat}`);
}

const pads = (c: Info): number[] => [c.padInfo.top, c.padInfo.bottom, c.padInfo.left, c.padInfo.right];
const strides = (c: Info): number[] => [c.strideHeight, c.strideWidth];
const dilations = (c: Info): number[] => [c.dilationHeight, c.dilationWidth];

function conv2d(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const filter = input(args, 'filter');
  const a = attrs<tf.Conv2DAttrs>(args);
  nhwcOnly('Conv2D', a.dataFormat);
  const c = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], a.strides, a.dilations, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const b = backendOf(args);
  return b.output(b.addon.conv2d(b.tensor(x), b.tensor(filter), strides(c), pads(c), dilations(c)), 'float32');
}

function conv2dBackpropInput(args: KernelArgs): tf.TensorInfo {
  const dy = input(args, 'dy');
  const filter = input(args, 'filter');
  const a = attrs<tf.Conv2DBackpropInputAttrs>(args);
  nhwcOnly('Conv2DBackpropInput', a.dataFormat);
  const c = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const b = backendOf(args);
  return b.output(b.addon.conv2dBackpropInput(b.tensor(dy), b.tensor(filter), a.inputShape, strides(c), pads(c), dilations(c)), 'float32');
}

function conv2dBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const dy = input(args, 'dy');
  const a = attrs<tf.Conv2DBackpropFilterAttrs>(args);
  nhwcOnly('Conv2DBackpropFilter', a.dataFormat);
  const c = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const b = backendOf(args);
  return b.output(b.addon.conv2dBackpropFilter(b.tensor(x), b.tensor(dy), a.filterShape, strides(c), pads(c), dilations(c)), 'float32');
}

function poolInfo(xShape: number[], a: tf.AvgPoolAttrs | tf.MaxPoolAttrs): Info {
  return tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
}

const size = (c: Info): number[] => [c.filterHeight, c.filterWidth];

function avgPool(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const c = poolInfo(x.shape, attrs<tf.AvgPoolAttrs>(args));
  const b = backendOf(args);
  return b.output(b.addon.avgPool(b.tensor(x), size(c), strides(c), pads(c), dilations(c)), 'float32');
}

function avgPoolGrad(args: KernelArgs): tf.TensorInfo {
  const dy = input(args, 'dy');
  const x = input(args, 'input');
  const c = poolInfo(x.shape, attrs<tf.AvgPoolGradAttrs>(args));
  const b = backendOf(args);
  return b.output(b.addon.avgPoolGrad(b.tensor(dy), b.tensor(x), size(c), strides(c), pads(c), dilations(c)), 'float32');
}

function maxPool(args: KernelArgs): tf.TensorInfo {
  const x = input(args, 'x');
  const c = poolInfo(x.shape, attrs<tf.MaxPoolAttrs>(args));
  const b = backendOf(args);
  return b.output(b.addon.maxPool(b.tensor(x), size(c), strides(c), pads(c), dilations(c)), 'float32');
}

function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const dy = input(args, 'dy');
  const x = input(args, 'input');
  const c = poolInfo(x.shape, attrs<tf.MaxPoolGradAttrs>(args));
  const b = backendOf(args);
  return b.output(b.addon.maxPoolGrad(b.tensor(dy), b.tensor(x), size(c), strides(c), pads(c), dilations(c)), 'float32');
}

export const convKernels: NativeKernel[] = [
  { kernelName: tf.Conv2D, kernelFunc: conv2d },
  { kernelName: tf.Conv2DBackpropInput, kernelFunc: conv2dBackpropInput },
  { kernelName: tf.Conv2DBackpropFilter, kernelFunc: conv2dBackpropFilter },
  { kernelName: tf.AvgPool, kernelFunc: avgPool },
  { kernelName: tf.AvgPoolGrad, kernelFunc: avgPoolGrad },
  { kernelName: tf.MaxPool, kernelFunc: maxPool },
  { kernelName: tf.MaxPoolGrad, kernelFunc: maxPoolGrad },
];
