import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Conv, resizeBilinear, type Owner } from './layers.js';
import { encoderWidth } from './shape-contract.js';

/** Reconstruction decoder (InfoPro style): features -> image in [0, 1]. */
export class Decoder {
  private readonly conv1: Conv;
  private readonly bn: BatchNorm;
  private readonly conv2: Conv;

  /** `release`: the authors' decoder (both convs with bias, align_corners=True); contsup's has neither. */
  constructor(o: Owner, name: string, channels: number, imageChannels: number, private readonly imageSize: number, widen: number, private readonly release = false) {
    const mid = encoderWidth(widen);
    this.conv1 = new Conv(o, `${name}/conv1`, 3, channels, mid, 1, release);
    this.bn = new BatchNorm(o, `${name}/bn`, mid);
    this.conv2 = new Conv(o, `${name}/conv2`, 3, mid, imageChannels, 1, release);
  }

  apply(h: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const up = resizeBilinear(h, this.imageSize, this.imageSize, this.release);
    const y = tf.relu(this.bn.apply(this.conv1.apply(up), training));
    return tf.sigmoid(this.conv2.apply(y));
  }
}

/** Published (a1, b1, a2, b2) for ResNet-32 on CIFAR-10 (contsup-method.md section 6). */
const LOSS_WEIGHTS: Record<number, [number, number, number, number]> = {
  2: [5, 1, 0, 0],
  4: [6, 0, 1, 2],
  8: [5, 0, 0, 2],
  16: [5, 0.05, 0.2, 0.5],
};

/**
 * Weights (reconstruction a, classification b) of local module `index` of the
 * K - 1 local modules, interpolated linearly from the first cut to the last.
 * For K without a published pair the nearest published K (ties to the lower) is used.
 */
export function decoderLossWeights(k: number, index: number): { a: number; b: number } {
  const published = Object.keys(LOSS_WEIGHTS).map(Number);
  const nearest = published.reduce((best, p) => (Math.abs(p - k) < Math.abs(best - k) ? p : best), published[0]);
  const [a1, b1, a2, b2] = LOSS_WEIGHTS[nearest];
  const t = k > 2 ? index / (k - 2) : 0;
  return { a: a1 + (a2 - a1) * t, b: b1 + (b2 - b1) * t };
}

