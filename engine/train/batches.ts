import * as tf from '@tensorflow/tfjs-core';
import type { PreprocessSpec } from '../data/dataset.js';
import { normalizeImages, toUnitImages } from '../data/preprocess.js';
import type { GllNetwork } from '../model/network.js';
import type { StageTensors } from './stage-runner.js';

export interface PreparedBatch {
  input: StageTensors;
  labels: tf.Tensor1D;
  /** The image in [0, 1] when a decoder needs it as its target. */
  target: tf.Tensor4D | null;
}

/**
 * Turns raw uint8 images (already augmented, or eval images) into the first
 * module's input. The caller disposes everything in the result.
 */
export function prepareBatch(net: GllNetwork, images: Uint8Array, labels: Uint8Array, shape: [number, number, number], spec: PreprocessSpec): PreparedBatch {
  const n = labels.length;
  const [h, w, c] = shape;
  const x = normalizeImages(images, n, h, w, c, spec);
  return {
    input: { h: x, image: net.mode.image ? x : null, history: [] },
    labels: tf.tensor1d(Int32Array.from(labels), 'int32'),
    target: net.config.decoder ? toUnitImages(images, n, h, w, c) : null,
  };
}

export function disposePrepared(p: PreparedBatch): void {
  tf.dispose([p.input.h, p.labels, ...p.input.history]);
  if (p.input.image) p.input.image.dispose();
  if (p.target) p.target.dispose();
}

