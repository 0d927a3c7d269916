import * as tf from '@tensorflow/tfjs-core';
import type { HeadName } from '../../protocol/names.js';
import { BatchNorm, Conv, Linear, globalAvgPool, type Owner } from './layers.js';
import { headWidth } from './shape-contract.js';

/**
 * A local head `<convs>c<fcs>f` (contsup-method.md section 5). Its output has
 * `out` features: class logits for cross-entropy, an embedding for supcon.
 */
export class LocalHead {
  private readonly convs: Array<{ conv: Conv; bn: BatchNorm }> = [];
  private readonly fcs: Linear[] = [];

  /** `hidden`: width of the hidden linear layers (headHiddenWidth). */
  constructor(o: Owner, name: string, head: HeadName, channels: number, out: number, widen: number, hidden: number) {
    const convCount = Number(head[0]);
    const fcCount = Number(head[2]);
    const width = headWidth(channels, widen);
    let c = channels;
    for (let i = 0; i < convCount; i++) {
      // The first conv halves the map of the 16- and 32-channel stages; later convs keep size.
      const stride = i === 0 && (channels === 16 || channels === 32) ? 2 : 1;
      this.convs.push({ conv: new Conv(o, `${name}/conv${i}`, 3, c, width, stride, false), bn: new BatchNorm(o, `${name}/bn${i}`, width) });
      c = width;
    }
    for (let i = 0; i < fcCount; i++) {
      const last = i === fcCount - 1;
      this.fcs.push(new Linear(o, `${name}/fc${i}`, c, last ? out : hidden));
      c = hidden;
    }
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    let h = x;
    for (const { conv, bn } of this.convs) h = tf.relu(bn.apply(conv.apply(h), training));
    let v = globalAvgPool(h);
    this.fcs.forEach((fc, i) => {
      v = fc.apply(v);
      if (i < this.fcs.length - 1) v = tf.relu(v);
    });
    return v;
  }
}

/** The network's own classifier: global average pool + linear. Counted with the backbone. */
export class Classifier {
  private readonly fc: Linear;

  constructor(o: Owner, channels: number, classes: number) {
    this.fc = new Linear(o, 'fc', channels, classes);
  }

  apply(x: tf.Tensor4D): tf.Tensor2D {
    return this.fc.apply(globalAvgPool(x));
  }
}
