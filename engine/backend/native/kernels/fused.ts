// The engine's own fused kernels (engine/backend/fused-kernels.ts), each one native call.
import type * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, SGD_STEP } from '../../fused-kernels.js';
import { attrs, backendOf, input, type KernelArgs, type NativeKernel } from './common.js';

function float4d(kernel: string, t: tf.TensorInfo): void {
  if (t.dtype !== 'float32' || t.shape.length !== 4) throw new Error(`${kernel} needs a float32 NHWC tensor, got ${t.dtype} [${t.shape.join(', ')}]`);
}

function batchNormTrain(args: KernelArgs): tf.TensorInfo[] {
  const x = input(args, 'x');
  float4d(BATCH_NORM_TRAIN, x);
  const { eps } = attrs<{ eps: number }>(args);
  const b = backendOf(args);
  const c = [x.shape[3]];
  const [y, mean, variance, invstd] = b.addon.batchNormTrain(b.tensor(x), b.tensor(input(args, 'gamma')), b.tensor(input(args, 'beta')), eps);
  return [b.output(y, 'float32', x.shape), b.output(mean, 'float32', c), b.output(variance, 'float32', c), b.output(invstd, 'float32', c)];
}

function batchNormTrainGrad(args: KernelArgs): tf.TensorInfo[] {
  const dy = input(args, 'dy');
  const x = input(args, 'x');
  float4d(BATCH_NORM_TRAIN_GRAD, dy);
  const { eps } = attrs<{ eps: number }>(args);
  const b = backendOf(args);
  const t = (name: string): ReturnType<typeof b.tensor> => b.tensor(input(args, name));
  const c = [x.shape[3]];
  const [dx, dGamma, dBeta] = b.addon.batchNormTrainGrad(b.tensor(dy), b.tensor(x), t('mean'), t('invstd'), t('gamma'), eps);
  return [b.output(dx, 'float32', x.shape), b.output(dGamma, 'float32', c), b.output(dBeta, 'float32', c)];
}

function sgdStep(args: KernelArgs): tf.TensorInfo[] {
  const v = input(args, 'v');
  const a = attrs<{ lr: number; momentum: number; weightDecay: number; nesterov: boolean }>(args);
  const b = backendOf(args);
  const [vNext, bufNext] = b.addon.sgdStep(b.tensor(v), b.tensor(input(args, 'grad')), b.tensor(input(args, 'buf')), a.lr, a.momentum, a.weightDecay, a.nesterov);
  return [b.output(vNext, 'float32', v.shape), b.output(bufNext, 'float32', v.shape)];
}

export const fusedKernels: NativeKernel[] = [
  { kernelName: BATCH_NORM_TRAIN, kernelFunc: batchNormTrain },
  { kernelName: BATCH_NORM_TRAIN_GRAD, kernelFunc: batchNormTrainGrad },
  { kernelName: SGD_STEP, kernelFunc: sgdStep },
];
