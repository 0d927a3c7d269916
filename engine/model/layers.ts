import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, backendHasKernel, runFused } from '../backend/fused-kernels.js';
import type { ParamRole, ParamStore } from './params.js';

/** Where a layer's parameters go: which module owns them and which group they count in. */
export interface Owner {
  store: ParamStore;
  module: number;
  role: ParamRole;
  /** Batch-norm settings of the owner's BN layers; PyTorch's defaults when absent. */
  bn?: BatchNormOptions;
}

export interface BatchNormOptions {
  /** Weight of the new batch statistic in the running average (PyTorch's `momentum`). */
  momentum: number;
  eps: number;
}

/** PyTorch BatchNorm2d defaults, which the release uses everywhere. */
export const DEFAULT_BN: BatchNormOptions = { momentum: 0.1, eps: 1e-5 };

export class Conv {
  readonly w: tf.Variable;
  readonly b: tf.Variable | null;

  constructor(
    o: Owner,
    name: string,
    readonly k: number,
    readonly cin: number,
    readonly cout: number,
    readonly stride: number,
    withBias: boolean,
  ) {
    this.w = o.store.convWeight(`${name}/w`, o.module, o.role, k, cin, cout);
    this.b = withBias ? o.store.bias(`${name}/b`, o.module, o.role, cout, k * k * cin) : null;
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    // Symmetric padding (k-1)/2 on each side, as PyTorch's padding=1: tfjs 'same'
    // pads stride-2 convs only at the bottom/right, which would shift every feature.
    const p = (this.k - 1) / 2;
    const pad = p === 0 ? 'valid' : ([[0, 0], [p, p], [p, p], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]);
    const y = tf.conv2d(x, this.w as tf.Tensor4D, this.stride, pad);
    return this.b ? tf.add(y, this.b) : y;
  }
}

/**
 * PyTorch BatchNorm2d semantics (default momentum 0.1, eps 1e-5): batch
 * statistics with the biased variance in training, and running statistics
 *   mean <- (1 - m) * mean + m * batchMean;  var <- (1 - m) * var + m * batchVar * n / (n - 1)
 */
export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runMean: tf.Variable;
  readonly runVar: tf.Variable;
  readonly options: BatchNormOptions;

  constructor(o: Owner, name: string, readonly channels: number) {
    this.options = o.bn ?? DEFAULT_BN;
    this.gamma = o.store.constant(`${name}/gamma`, o.module, o.role, channels, 1, true);
    this.beta = o.store.constant(`${name}/beta`, o.module, o.role, channels, 0, true);
    this.runMean = o.store.constant(`${name}/mean`, o.module, o.role, channels, 0, false);
    this.runVar = o.store.constant(`${name}/var`, o.module, o.role, channels, 1, false);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    if (!training) {
      return tf.batchNorm4d(x, this.runMean as tf.Tensor1D, this.runVar as tf.Tensor1D, this.beta as tf.Tensor1D, this.gamma as tf.Tensor1D, this.options.eps);
    }
    const { momentum: m, eps } = this.options;
    let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | null = null;
    const y = batchNormTrain(x, this.gamma, this.beta, eps, (mean, variance) => {
      stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    });
    const { mean, variance } = stats!;
    tf.tidy(() => {
      // Running statistics are state, updated as a side effect; they never reach the loss.
      const n = x.size / this.channels;
      const unbiased = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;
      this.runMean.assign(tf.add(tf.mul(this.runMean, 1 - m), tf.mul(mean, m)));
      this.runVar.assign(tf.add(tf.mul(this.runVar, 1 - m), tf.mul(unbiased, m)));
    });
    tf.dispose([mean, variance]);
    return y;
  }
}

const BN_AXES = [0, 1, 2];

/**
 * Training-mode batch norm with a hand-written gradient. tfjs's own
 * FusedBatchNorm gradient tiles its statistics to the full activation size,
 * which was the single most expensive kernel of a training step on wasm; the
 * closed form needs two channel sums and element-wise ops:
 *   dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
 */
function batchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Variable,
  beta: tf.Variable,
  eps: number,
  onStats: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
): tf.Tensor4D {
  if (backendHasKernel(BATCH_NORM_TRAIN) && backendHasKernel(BATCH_NORM_TRAIN_GRAD)) return fusedBatchNormTrain(x, gamma, beta, eps, onStats);
  return withBatchNormGrad(x, gamma, beta, (xIn, g, b, save) => {
    const mean = tf.mean(xIn, BN_AXES);
    const centred = tf.sub(xIn, mean);
    const variance = tf.mean(tf.mul(centred, centred), BN_AXES);
    onStats(mean as tf.Tensor1D, variance as tf.Tensor1D);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(centred, rstd);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, gm] = saved;
        const dBeta = tf.sum(dy, BN_AXES);
        const dGamma = tf.sum(tf.mul(dy, xh), BN_AXES);
        const n = xh.size / xh.shape[3]!;
        const dyCentred = tf.sub(tf.sub(dy, tf.div(dBeta, n)), tf.mul(xh, tf.div(dGamma, n)));
        return [tf.mul(dyCentred, tf.mul(gm, rs)), dGamma, dBeta];
      },
    };
  });
}

/** The same batch norm and gradient, each one kernel, on a backend that has them (see fused-kernels.ts). */
function fusedBatchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Variable,
  beta: tf.Variable,
  eps: number,
  onStats: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
): tf.Tensor4D {
  return withBatchNormGrad(x, gamma, beta, (xIn, g, b, save) => {
    const [y, mean, variance, invstd] = runFused(BATCH_NORM_TRAIN, { x: xIn, gamma: g, beta: b }, { eps });
    onStats(mean as tf.Tensor1D, variance as tf.Tensor1D);
    save([xIn, mean, invstd, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, mu, rs, gm] = saved;
        return runFused(BATCH_NORM_TRAIN_GRAD, { dy, x: xs, mean: mu, invstd: rs, gamma: gm }, { eps });
      },
    };
  });
}

/** Batch norm over (x, gamma, beta) with the gradient `body` returns: tf.customGrad's variadic arguments unpacked once. */
function withBatchNormGrad(
  x: tf.Tensor4D,
  gamma: tf.Variable,
  beta: tf.Variable,
  body: (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] },
): tf.Tensor4D {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xIn, g, b] = args as tf.Tensor[];
    return body(xIn!, g!, b!, args[3] as tf.GradSaveFunc);
  });
  return f(x, gamma, beta) as tf.Tensor4D;
}

export class Linear {
  readonly w: tf.Variable;
  readonly b: tf.Variable;

  constructor(o: Owner, name: string, readonly cin: number, readonly cout: number) {
    this.w = o.store.linearWeight(`${name}/w`, o.module, o.role, cin, cout);
    this.b = o.store.bias(`${name}/b`, o.module, o.role, cout, cin);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.w as tf.Tensor2D), this.b);
  }
}

export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}

/** Multiplies `x` by `m` [out, in] along spatial axis 1 (height) or 2 (width). */
function mixAxis(x: tf.Tensor4D, m: tf.Tensor2D, axis: 1 | 2): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const perm = axis === 1 ? [1, 0, 2, 3] : [2, 0, 1, 3];
  const moved = tf.reshape(tf.transpose(x, perm), [axis === 1 ? h : w, -1]);
  const mixed = tf.matMul(m, moved);
  const outLen = m.shape[0];
  if (axis === 1) return tf.transpose(tf.reshape(mixed, [outLen, b, w, c]), [1, 0, 2, 3]);
  return tf.transpose(tf.reshape(mixed, [outLen, b, h, c]), [1, 2, 0, 3]);
}

/** Row i averages input cells [floor(i*n/s), ceil((i+1)*n/s)), as torch's adaptive_avg_pool2d. */
function adaptivePoolMatrix(n: number, s: number): tf.Tensor2D {
  const m = new Float32Array(s * n);
  for (let i = 0; i < s; i++) {
    const start = Math.floor((i * n) / s);
    const end = Math.ceil(((i + 1) * n) / s);
    for (let j = start; j < end; j++) m[i * n + j] = 1 / (end - start);
  }
  return tf.tensor2d(m, [s, n]);
}

/** Adaptive average pooling to size x size (as torch.nn.AdaptiveAvgPool2d). */
export function adaptiveAvgPool(x: tf.Tensor4D, size: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === size && w === size) return x;
  if (h % size === 0 && w % size === 0) {
    return tf.avgPool(x, [h / size, w / size], [h / size, w / size], 'valid');
  }
  return mixAxis(mixAxis(x, adaptivePoolMatrix(h, size), 1), adaptivePoolMatrix(w, size), 2);
}

/** Linear interpolation weights of torch's bilinear resize (F.interpolate), align_corners False or True. */
function bilinearMatrix(n: number, s: number, alignCorners: boolean): tf.Tensor2D {
  const m = new Float32Array(s * n);
  const scale = n / s;
  for (let i = 0; i < s; i++) {
    // align_corners=True maps the corner pixels onto each other: src = i * (n - 1) / (s - 1).
    const src = alignCorners ? (s > 1 ? (i * (n - 1)) / (s - 1) : 0) : Math.max((i + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(src), n - 1);
    const i1 = Math.min(i0 + 1, n - 1);
    const f = src - i0;
    m[i * n + i0] += 1 - f;
    m[i * n + i1] += f;
  }
  return tf.tensor2d(m, [s, n]);
}

/**
 * Bilinear resize as two matMuls: differentiable on every backend, where the
 * ResizeBilinearGrad kernel is not.
 */
export function resizeBilinear(x: tf.Tensor4D, height: number, width: number, alignCorners = false): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === height && w === width) return x;
  return mixAxis(mixAxis(x, bilinearMatrix(h, height, alignCorners), 1), bilinearMatrix(w, width, alignCorners), 2);
}
