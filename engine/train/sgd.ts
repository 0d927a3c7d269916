import * as tf from '@tensorflow/tfjs-core';
import { SGD_STEP, backendHasKernel, runFused } from '../backend/fused-kernels.js';

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}

export const DEFAULT_SGD: SgdOptions = { momentum: 0.9, weightDecay: 1e-4, nesterov: true };

/**
 * SGD with (Nesterov) momentum and weight decay, with PyTorch's update rule so
 * runs compare with the published recipe:
 *   g = grad + wd * w;  buf = m * buf + g;  w -= lr * (nesterov ? g + m * buf : buf)
 */
export class Sgd {
  private readonly buffers = new Map<tf.Variable, tf.Variable>();

  constructor(readonly options: SgdOptions = DEFAULT_SGD) {}

  apply(variables: tf.Variable[], grads: tf.NamedTensorMap, lr: number): void {
    const { momentum: m, weightDecay: wd, nesterov } = this.options;
    // One kernel per variable where the backend has it (same float32 operations, in the same order).
    const fused = backendHasKernel(SGD_STEP);
    tf.tidy(() => {
      for (const v of variables) {
        const grad = grads[v.name];
        if (!grad) continue; // a variable the loss does not reach (e.g. a head weighted 0)
        let buf = this.buffers.get(v);
        if (!buf) {
          buf = tf.variable(tf.zerosLike(v), false);
          this.buffers.set(v, buf);
        }
        if (fused) {
          const [vNext, bufNext] = runFused(SGD_STEP, { v, grad, buf }, { lr, momentum: m, weightDecay: wd, nesterov });
          buf.assign(bufNext);
          v.assign(vNext);
          continue;
        }
        const g = wd > 0 ? tf.add(grad, tf.mul(v, wd)) : grad;
        buf.assign(tf.add(tf.mul(buf, m), g));
        const update = nesterov ? tf.add(g, tf.mul(buf, m)) : buf;
        v.assign(tf.sub(v, tf.mul(update, lr)));
      }
    });
  }

  /** Momentum buffer of a variable (zeros before its first step), for checkpoints. */
  buffer(v: tf.Variable): tf.Variable | undefined {
    return this.buffers.get(v);
  }

  /** Sets a momentum buffer (restoring a checkpoint). Takes ownership of `values`. */
  setBuffer(v: tf.Variable, values: tf.Tensor): void {
    const existing = this.buffers.get(v);
    if (existing) existing.assign(values);
    else this.buffers.set(v, tf.variable(values, false));
    // Both paths above take their own reference to the data.
    values.dispose();
  }

  get bytes(): number {
    let n = 0;
    for (const b of this.buffers.values()) n += b.size * 4;
    return n;
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}
