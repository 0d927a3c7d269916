import * as tf from '@tensorflow/tfjs-core';
import type { NativeBackend } from '../native-backend.js';

export type KernelArgs = Parameters<tf.KernelFunc>[0];

/** One kernel of the native backend: what it is called and what it does. */
export interface NativeKernel {
  kernelName: string;
  kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];
}

export function backendOf(args: KernelArgs): NativeBackend {
  return args.backend as NativeBackend;
}

/** A kernel's named input (the registry types inputs as optional). */
export function input(args: KernelArgs, name: string): tf.TensorInfo {
  const t = args.inputs[name];
  if (t === undefined) throw new Error(`kernel input '${name}' is missing`);
  return t;
}

export function attrs<A>(args: KernelArgs): A {
  return args.attrs as unknown as A;
}
