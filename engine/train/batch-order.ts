import { shuffledOrder } from '../data/dataset.js';
import { hashSeed } from '../rng.js';

// Which samples make which batch, and their augmentation seeds: plain numbers,
// no tfjs, so the coordinator's feeder draws exactly what the trainer draws.

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
