import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Conv, adaptiveAvgPool, type Owner } from './layers.js';
import { encoderWidth } from './shape-contract.js';

/** Encoder E: brings the input image to a cut's shape (conv3x3-BN-ReLU twice, then adaptive pool). */
export class ImageEncoder {
  private readonly conv1: Conv;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv;
  private readonly bn2: BatchNorm;

  constructor(o: Owner, name: string, inChannels: number, channels: number, private readonly size: number, widen: number) {
    const mid = encoderWidth(widen);
    this.conv1 = new Conv(o, `${name}/conv1`, 3, inChannels, mid, 1, true);
    this.bn1 = new BatchNorm(o, `${name}/bn1`, mid);
    this.conv2 = new Conv(o, `${name}/conv2`, 3, mid, channels, 1, true);
    this.bn2 = new BatchNorm(o, `${name}/bn2`, channels);
  }

  apply(image: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const y = tf.relu(this.bn1.apply(this.conv1.apply(image), training));
    const z = tf.relu(this.bn2.apply(this.conv2.apply(y), training));
    return adaptiveAvgPool(z, this.size);
  }
}

/** Encoder R: brings an earlier module input to a cut's shape (conv1x1-BN-ReLU, then adaptive pool). */
export class FeatureEncoder {
  private readonly conv: Conv;
  private readonly bn: BatchNorm;

  constructor(o: Owner, name: string, inChannels: number, channels: number, private readonly size: number) {
    this.conv = new Conv(o, `${name}/conv`, 1, inChannels, channels, 1, true);
    this.bn = new BatchNorm(o, `${name}/bn`, channels);
  }

  apply(source: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return adaptiveAvgPool(tf.relu(this.bn.apply(this.conv.apply(source), training)), this.size);
  }
}
