import * as tf from '@tensorflow/tfjs-core';
import type { ModelName } from '../../protocol/names.js';
import { BatchNorm, Conv, type Owner } from './layers.js';

/** The backbones are the protocol's model names. */
export type ResNetName = ModelName;

/** Blocks per stage: depth = 6n + 2. Keyed by every model name: a name added in protocol/ fails the type check here. */
export const BLOCKS_PER_STAGE: Record<ModelName, number> = {
  resnet20: 3,
  resnet32: 5,
  resnet44: 7,
  resnet56: 9,
  resnet110: 18,
};

export const STAGE_WIDTHS = [16, 32, 64] as const;

/** One backbone unit: the stem ([0,0]) or a BasicBlock ([stage 1..3, block]). */
export interface UnitSpec {
  stage: number;
  block: number;
  inChannels: number;
  outChannels: number;
  stride: number;
  /** Spatial size of the unit's output. */
  outSize: number;
  inSize: number;
}

/** Output size of a 3x3 conv with padding 1 (or 1x1 with padding 0) at this stride. */
export function convOutSize(size: number, stride: number): number {
  return Math.floor((size - 1) / stride) + 1;
}

export function backboneUnits(model: ResNetName, inChannels: number, inputSize: number): UnitSpec[] {
  const n = BLOCKS_PER_STAGE[model];
  if (n === undefined) throw new Error(`unknown model "${model}"; use one of ${Object.keys(BLOCKS_PER_STAGE).join(', ')}`);
  const units: UnitSpec[] = [{ stage: 0, block: 0, inChannels, outChannels: 16, stride: 1, inSize: inputSize, outSize: inputSize }];
  let size = inputSize;
  let channels = 16;
  for (let s = 1; s <= 3; s++) {
    for (let b = 0; b < n; b++) {
      const stride = s > 1 && b === 0 ? 2 : 1;
      const out = STAGE_WIDTHS[s - 1];
      const outSize = convOutSize(size, stride);
      units.push({ stage: s, block: b, inChannels: channels, outChannels: out, stride, inSize: size, outSize });
      channels = out;
      size = outSize;
    }
  }
  return units;
}

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
