// Node-only: loads the contsup native addon (engine/native, ATen kernels). Keep out of browser bundles.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A slot number of a tensor living in native memory; freed by `dispose` (the backend's disposeData). */
export type NativeTensor = number & { readonly __nativeTensor: unique symbol };

export type NativeDtype = 'float32' | 'int32' | 'bool';
type T = NativeTensor;

/** What engine/native/src/*.cc export (one family per file). */
export interface NativeAddon {
  write(values: ArrayBufferView, shape: number[], dtype: NativeDtype): T;
  read(t: T): ArrayBuffer;
  shape(t: T): number[];
  dispose(t: T): void;
  memory(): { bytes: number; handles: number; cached: number };
  setThreads(n: number): void;
  getThreads(): number;
  // conv.cc: strides [sh, sw], pads [top, bottom, left, right], dilations [dh, dw]
  conv2d(x: T, filter: T, strides: number[], pads: number[], dilations: number[]): T;
  conv2dBackpropInput(dy: T, filter: T, inputShape: number[], strides: number[], pads: number[], dilations: number[]): T;
  conv2dBackpropFilter(x: T, dy: T, filterShape: number[], strides: number[], pads: number[], dilations: number[]): T;
  avgPool(x: T, size: number[], strides: number[], pads: number[], dilations: number[]): T;
  avgPoolGrad(dy: T, x: T, size: number[], strides: number[], pads: number[], dilations: number[]): T;
  maxPool(x: T, size: number[], strides: number[], pads: number[], dilations: number[]): T;
  maxPoolGrad(dy: T, x: T, size: number[], strides: number[], pads: number[], dilations: number[]): T;
  // elementwise.cc
  binary(op: string, a: T, b: T, dtype: NativeDtype): T;
  unary(op: string, x: T, dtype: NativeDtype, p0?: number, p1?: number): T;
  cast(x: T, dtype: NativeDtype): T;
  addN(xs: T[]): T;
  select(condition: T, a: T, b: T): T;
  fusedBatchNorm(x: T, mean: T, variance: T, offset: T | null, scale: T | null, eps: number): T;
  // batchnorm.cc: training mode over the channel axis; [y, mean, variance, invstd] and [dx, dGamma, dBeta]
  batchNormTrain(x: T, gamma: T, beta: T, eps: number): [T, T, T, T];
  batchNormTrainGrad(dy: T, x: T, mean: T, invstd: T, gamma: T, eps: number): [T, T, T];
  // optim.cc: one SGD step of one variable -> [v', buf']
  sgdStep(v: T, grad: T, buf: T, lr: number, momentum: number, weightDecay: number, nesterov: boolean): [T, T];
  // reduce.cc
  reduce(op: string, x: T, axes: number[], keepDims: boolean, dtype: NativeDtype): T;
  argReduce(op: string, x: T, axis: number): T;
  // shape.cc
  reshape(x: T, shape: number[]): T;
  transpose(x: T, perm: number[]): T;
  slice(x: T, begin: number[], size: number[]): T;
  stridedSlice(x: T, begin: number[], end: number[], strides: number[]): T;
  pad(x: T, flatPaddings: number[], value: number): T;
  concat(xs: T[], axis: number): T;
  tile(x: T, reps: number[]): T;
  fill(shape: number[], value: number, dtype: NativeDtype): T;
  oneHot(indices: T, depth: number, onValue: number, offValue: number, dtype: NativeDtype): T;
  gather(x: T, indices: T, axis: number): T;
  unsortedSegmentSum(x: T, segmentIds: T, numSegments: number): T;
  // matmul.cc
  batchMatMul(a: T, b: T, transposeA: boolean, transposeB: boolean): T;
}

/** How to get the addon, for every message that says it is missing. */
export const HOW_TO_BUILD_NATIVE =
  'install libtorch (`apt-get install libtorch-dev`, or a python `torch`, or set LIBTORCH=/path/to/libtorch) and run `npm run build:native`';

/** Where build.mjs puts the addon, seen from the source tree and from dist/. */
function candidates(): string[] {
  const fromHere = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
  return [
    fromHere('../../native/build/Release/contsup_native.node'),
    fromHere('../../../../engine/native/build/Release/contsup_native.node'),
  ];
}

let cached: NativeAddon | null = null;

/**
 * The addon, loaded once. Throws (one line, saying how to build it) when it is not
 * built or cannot load. CONTSUP_NATIVE=off hides it (to exercise the fallback).
 */
export function loadNativeAddon(): NativeAddon {
  if (process.env.CONTSUP_NATIVE === 'off') throw new Error('the native addon is hidden (CONTSUP_NATIVE=off)');
  if (cached !== null) return cached;
  const file = candidates().find((f) => existsSync(f));
  if (file === undefined) throw new Error(`the native addon is not built (engine/native/build/Release/contsup_native.node is missing): ${HOW_TO_BUILD_NATIVE}`);
  try {
    cached = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (err: unknown) {
    const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new Error(`the native addon failed to load (${msg}): rebuild it with \`npm run build:native\``, { cause: err });
  }
  return cached;
}
