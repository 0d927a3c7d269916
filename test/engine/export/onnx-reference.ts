import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet, PreprocessSpec } from '../../../engine/data/dataset.js';
import { normalizeImages } from '../../../engine/data/preprocess.js';
import type { GllNetwork, ModuleInput } from '../../../engine/model/network.js';

/** contsup's own inference logits [n, classes] for a whole image set: modules chained as the stage runner chains them. */
export function contsupLogits(net: GllNetwork, set: ImageSet, spec: PreprocessSpec): Float32Array {
  const out = tf.tidy(() => {
    const x = normalizeImages(set.images, set.count, set.height, set.width, set.channels, spec);
    let cur: ModuleInput = { h: x, image: net.mode.image ? x : null, history: [] };
    let logits: tf.Tensor2D | null = null;
    for (let k = 0; k < net.moduleCount; k++) {
      const r = net.forward(k, cur, false);
      logits = r.prediction;
      const history = net.historyLength > 0 ? [...cur.history, r.combined].slice(-net.historyLength) : [];
      cur = { h: r.features, image: cur.image, history };
    }
    return logits!;
  });
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

/** The ONNX input: HWC uint8 images as NCHW float32 pixel / 255. */
export function toNchwUnit(set: ImageSet): Float32Array {
  const { count: n, height: h, width: w, channels: c } = set;
  const out = new Float32Array(n * c * h * w);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) out[((i * c + ch) * h + y) * w + x] = set.images[((i * h + y) * w + x) * c + ch] / 255;
      }
    }
  }
  return out;
}

/** Test error in percent of logits [n, classes] against labels. */
export function errorPercent(logits: Float32Array, labels: Uint8Array, classes: number): number {
  let wrong = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    let best = 0;
    for (let j = 1; j < classes; j++) if (row[j] > row[best]) best = j;
    if (best !== labels[i]) wrong++;
  }
  return (100 * wrong) / labels.length;
}
