/**
 * Augmentation (pure JS on uint8) and normalisation (to tfjs float tensors).
 *
 * Augmentation is deliberately independent of tfjs: the distributed runtime
 * ships raw uint8 plus a seed to the first device, which must reproduce the
 * exact crop/flip the in-process trainer would have drawn.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PreprocessSpec } from './dataset.js';
import { hashSeed, mulberry32 } from '../rng.js';

export { PREPROCESS, preprocessFor } from './dataset.js';

/** One image's augmentation draw; exported so tests and devices can inspect it. */
export interface AugmentDraw {
  /** Row offset into the padded image, 0..2*pad. */
  dy: number;
  /** Column offset into the padded image, 0..2*pad. */
  dx: number;
  flip: boolean;
}

/**
 * The draw for image `index` of a batch augmented with `seed`. Each image has
 * its own stream (seeded by (seed, index)), so a device holding only part of a
 * batch can reproduce its images' draws. Three values are always consumed in
 * the order dy, dx, flip, whatever the spec, so toggling flip leaves crops as
 * they were.
 */
export function augmentDraw(spec: PreprocessSpec, seed: number, index: number): AugmentDraw {
  const rand = mulberry32(hashSeed(seed, index, 0xa06));
  const span = 2 * spec.pad + 1;
  const dy = Math.floor(rand() * span);
  const dx = Math.floor(rand() * span);
  const flipDraw = rand() < 0.5;
  return { dy, dx, flip: spec.flip && flipDraw };
}

/**
 * Maps a padded coordinate (may be outside 0..len-1) to a source index, or -1
 * for zero padding. Reflect mirrors without repeating the edge (numpy/torch
 * 'reflect'), folding repeatedly so pads larger than the image still work.
 */
function sourceIndex(i: number, len: number, mode: PreprocessSpec['padMode']): number {
  if (i >= 0 && i < len) return i;
  if (mode === 'zero') return -1;
  if (len === 1) return 0;
  const period = 2 * (len - 1);
  let m = i % period;
  if (m < 0) m += period;
  return m < len ? m : period - m;
}

/**
 * Pads each image by spec.pad (reflect or zero), crops a random h x w window
 * and flips horizontally with p = 0.5 when spec.flip. Deterministic in
 * (seed, image index); returns a new buffer of the same layout [n,h,w,c].
 */
export function augmentImages(
  images: Uint8Array,
  n: number,
  h: number,
  w: number,
  c: number,
  spec: PreprocessSpec,
  seed: number,
): Uint8Array {
  const size = h * w * c;
  if (images.length < n * size) {
    throw new RangeError(`augmentImages: need ${n * size} bytes for ${n}x${h}x${w}x${c}, got ${images.length}`);
  }
  const out = new Uint8Array(n * size);
  const rows = new Int32Array(h);
  const cols = new Int32Array(w);
  for (let img = 0; img < n; img++) {
    const { dy, dx, flip } = augmentDraw(spec, seed, img);
    for (let y = 0; y < h; y++) rows[y] = sourceIndex(y + dy - spec.pad, h, spec.padMode);
    for (let x = 0; x < w; x++) {
      const cropX = flip ? w - 1 - x : x;
      cols[x] = sourceIndex(cropX + dx - spec.pad, w, spec.padMode);
    }
    const base = img * size;
    for (let y = 0; y < h; y++) {
      const sy = rows[y];
      const outRow = base + y * w * c;
      if (sy < 0) continue; // zero row: buffer is already zero
      const srcRow = base + sy * w * c;
      for (let x = 0; x < w; x++) {
        const sx = cols[x];
        if (sx < 0) continue;
        const o = outRow + x * c;
        const s = srcRow + sx * c;
        for (let ch = 0; ch < c; ch++) out[o + ch] = images[s + ch];
      }
    }
  }
  return out;
}

function checkSpecChannels(spec: PreprocessSpec, c: number): void {
  if (spec.mean.length !== c || spec.std.length !== c) {
    throw new RangeError(
      `normalizeImages: spec has ${spec.mean.length} means / ${spec.std.length} stds for ${c} channels`,
    );
  }
}

/** float32 (x/255 - mean[c]) / std[c], shape [n,h,w,c]. Caller disposes. */
export function normalizeImages(
  images: Uint8Array,
  n: number,
  h: number,
  w: number,
  c: number,
  spec: PreprocessSpec,
): tf.Tensor4D {
  checkSpecChannels(spec, c);
  // A 256-entry table per channel: one lookup per value instead of arithmetic.
  const lut = new Float32Array(256 * c);
  for (let ch = 0; ch < c; ch++) {
    for (let v = 0; v < 256; v++) lut[ch * 256 + v] = (v / 255 - spec.mean[ch]) / spec.std[ch];
  }
  const total = n * h * w * c;
  const out = new Float32Array(total);
  for (let i = 0; i < total; i++) out[i] = lut[(i % c) * 256 + images[i]];
  return tf.tensor4d(out, [n, h, w, c], 'float32');
}

/** float32 x/255 in [0, 1], shape [n,h,w,c] (the reconstruction target). Caller disposes. */
export function toUnitImages(images: Uint8Array, n: number, h: number, w: number, c: number): tf.Tensor4D {
  const total = n * h * w * c;
  const out = new Float32Array(total);
  for (let i = 0; i < total; i++) out[i] = images[i] / 255;
  return tf.tensor4d(out, [n, h, w, c], 'float32');
}
