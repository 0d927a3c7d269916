import * as tf from '@tensorflow/tfjs-core';
import { shuffledOrder, type PreprocessSpec } from '../data/dataset.js';
import { normalizeImages, toUnitImages } from '../data/preprocess.js';
import { hashSeed } from '../rng.js';
import type { GllNetwork } from '../model/network.js';
import type { StageTensors } from './stage-runner.js';

/**
 * The batches of one epoch: a seeded shuffle cut into batchSize chunks. A
 * trailing batch of one sample is dropped (batch norm needs two). The
 * coordinator's feeder and the in-process trainer both call this, so both see
 * the same batches in the same order.
 */
export function epochBatches(count: number, batchSize: number, seed: number, epoch: number): Uint32Array[] {
  const order = shuffledOrder(count, seed, epoch);
  const batches: Uint32Array[] = [];
  for (let i = 0; i < count; i += batchSize) {
    const b = order.subarray(i, Math.min(i + batchSize, count));
    if (b.length >= 2) batches.push(b);
  }
  return batches;
}

/** In-order batches for evaluation (no shuffle, nothing dropped). */
export function evalBatches(count: number, batchSize: number): Uint32Array[] {
  const batches: Uint32Array[] = [];
  for (let i = 0; i < count; i += batchSize) {
    batches.push(Uint32Array.from({ length: Math.min(batchSize, count - i) }, (_, j) => i + j));
  }
  return batches;
}

/** The augmentation seed of one training batch. */
export function batchSeed(seed: number, epoch: number, batch: number): number {
  return hashSeed(seed, epoch, batch, 0xa46);
}

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

