import * as tf from '@tensorflow/tfjs-core';
import type { UnitSpec } from './backbone.js';
import { BatchNorm, Conv, type Owner } from './layers.js';

export interface Unit {
  spec: UnitSpec;
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D;
}

class Stem implements Unit {
  private readonly conv: Conv;
  private readonly bn: BatchNorm;

  constructor(o: Owner, readonly spec: UnitSpec) {
    this.conv = new Conv(o, 'stem/conv', 3, spec.inChannels, 16, 1, false);
    this.bn = new BatchNorm(o, 'stem/bn', 16);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.relu(this.bn.apply(this.conv.apply(x), training));
  }
}

class BasicBlock implements Unit {
  private readonly conv1: Conv;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv;
  private readonly bn2: BatchNorm;
  private readonly proj: { conv: Conv; bn: BatchNorm } | null;

  constructor(o: Owner, readonly spec: UnitSpec) {
    const p = `s${spec.stage}b${spec.block}`;
    const { inChannels: cin, outChannels: cout, stride } = spec;
    this.conv1 = new Conv(o, `${p}/conv1`, 3, cin, cout, stride, false);
    this.bn1 = new BatchNorm(o, `${p}/bn1`, cout);
    this.conv2 = new Conv(o, `${p}/conv2`, 3, cout, cout, 1, false);
    this.bn2 = new BatchNorm(o, `${p}/bn2`, cout);
    // Projection shortcut (1x1 conv + BN) only where the shape changes.
    this.proj = stride !== 1 || cin !== cout
      ? { conv: new Conv(o, `${p}/proj`, 1, cin, cout, stride, false), bn: new BatchNorm(o, `${p}/projbn`, cout) }
      : null;
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const y = tf.relu(this.bn1.apply(this.conv1.apply(x), training));
    const z = this.bn2.apply(this.conv2.apply(y), training);
    const shortcut = this.proj ? this.proj.bn.apply(this.proj.conv.apply(x), training) : x;
    return tf.relu(tf.add(z, shortcut));
  }
}

export function buildUnit(o: Owner, spec: UnitSpec): Unit {
  return spec.stage === 0 ? new Stem(o, spec) : new BasicBlock(o, spec);
}
