import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { PreprocessSpec } from '../../../engine/data/dataset.js';
import { PREPROCESS } from '../../../engine/data/dataset.js';
import { augmentDraw, augmentImages, normalizeImages, toUnitImages } from '../../../engine/data/preprocess.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Ramp image: value at (y, x, ch) = 10*y + x + 100*ch, small enough for uint8. */
function ramp(h: number, w: number, c: number): Uint8Array {
  const img = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) img[(y * w + x) * c + ch] = 10 * y + x + 100 * ch;
  return img;
}

const at = (img: Uint8Array, w: number, c: number, y: number, x: number, ch: number, base = 0): number =>
  img[base + (y * w + x) * c + ch];

describe('augmentImages', () => {
  it('leaves images unchanged with pad 0 and no flip', () => {
    const spec: PreprocessSpec = { mean: [0.5], std: [0.5], pad: 0, padMode: 'reflect', flip: false };
    const imgs = new Uint8Array(3 * 5 * 4 * 2).map((_, i) => (i * 37) % 256);
    expect(Array.from(augmentImages(imgs, 3, 5, 4, 2, spec, 123))).toEqual(Array.from(imgs));
  });

  it('is deterministic per seed and varies with the seed', () => {
    const spec = PREPROCESS.cifar10;
    const imgs = ramp(8, 8, 3);
    const batch = new Uint8Array(imgs.length * 16);
    for (let i = 0; i < 16; i++) batch.set(imgs, i * imgs.length);
    const a = augmentImages(batch, 16, 8, 8, 3, spec, 5);
    const b = augmentImages(batch, 16, 8, 8, 3, spec, 5);
    const c = augmentImages(batch, 16, 8, 8, 3, spec, 6);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it('crops a ramp to exactly the drawn shift (reflect padding)', () => {
    const spec: PreprocessSpec = { mean: [0, 0], std: [1, 1], pad: 2, padMode: 'reflect', flip: false };
    const h = 6;
    const w = 7;
    const c = 2;
    const n = 12;
    const one = ramp(h, w, c);
    const batch = new Uint8Array(one.length * n);
    for (let i = 0; i < n; i++) batch.set(one, i * one.length);
    const out = augmentImages(batch, n, h, w, c, spec, 99);
    const reflect = (i: number, len: number): number => (i < 0 ? -i : i >= len ? 2 * (len - 1) - i : i);
    const shifts = new Set<string>();
    for (let i = 0; i < n; i++) {
      const { dy, dx } = augmentDraw(spec, 99, i);
      shifts.add(`${dy},${dx}`);
      const sy = (y: number): number => reflect(y + dy - 2, h);
      const sx = (x: number): number => reflect(x + dx - 2, w);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let ch = 0; ch < c; ch++) expect(at(out, w, c, y, x, ch, i * one.length)).toBe(10 * sy(y) + sx(x) + 100 * ch);
    }
    expect(shifts.size).toBeGreaterThan(1);
  });

  it('zero-pads outside the image and mirrors columns when flipping', () => {
    const spec: PreprocessSpec = { mean: [0], std: [1], pad: 3, padMode: 'zero', flip: true };
    const h = 5;
    const w = 5;
    const n = 40;
    const one = ramp(h, w, 1).map((v) => v + 1); // +1 so real pixels are never 0
    const batch = new Uint8Array(one.length * n);
    for (let i = 0; i < n; i++) batch.set(one, i * one.length);
    const out = augmentImages(batch, n, h, w, 1, spec, 2024);
    let flips = 0;
    for (let i = 0; i < n; i++) {
      const { dy, dx, flip } = augmentDraw(spec, 2024, i);
      if (flip) flips++;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const sy = y + dy - 3;
          const sx = (flip ? w - 1 - x : x) + dx - 3;
          const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
          expect(out[i * h * w + y * w + x]).toBe(inside ? 10 * sy + sx + 1 : 0);
        }
    }
    // p = 0.5 over 40 draws: both outcomes must appear.
    expect(flips).toBeGreaterThan(5);
    expect(flips).toBeLessThan(35);
  });

  it('draws the same crops whether or not flipping is enabled', () => {
    const base = PREPROCESS.cifar10;
    const noFlip = { ...base, flip: false };
    for (let i = 0; i < 10; i++) {
      const a = augmentDraw(base, 1, i);
      const b = augmentDraw(noFlip, 1, i);
      expect([a.dy, a.dx]).toEqual([b.dy, b.dx]);
      expect(b.flip).toBe(false);
    }
  });

  it('reproduces an image’s draw from its batch index alone', () => {
    const spec = PREPROCESS.svhn;
    const one = ramp(6, 6, 3);
    const batch = new Uint8Array(one.length * 4);
    for (let i = 0; i < 4; i++) batch.set(one.map((v) => v + i), i * one.length);
    const full = augmentImages(batch, 4, 6, 6, 3, spec, 77);
    const firstTwo = augmentImages(batch.subarray(0, 2 * one.length), 2, 6, 6, 3, spec, 77);
    expect(Array.from(full.subarray(0, 2 * one.length))).toEqual(Array.from(firstTwo));
  });
});

describe('normalizeImages / toUnitImages', () => {
  it('maps uint8 to (x/255 - mean)/std per channel', () => {
    const spec: PreprocessSpec = { mean: [0.5, 0.2], std: [0.5, 0.1], pad: 0, padMode: 'zero', flip: false };
    const imgs = new Uint8Array([0, 255, 255, 51, 127, 0]);
    const t = normalizeImages(imgs, 1, 1, 3, 2, spec);
    expect(t.shape).toEqual([1, 1, 3, 2]);
    expect(t.dtype).toBe('float32');
    const v = Array.from(t.dataSync());
    t.dispose();
    const want = [-1, (1 - 0.2) / 0.1, 1, (0.2 - 0.2) / 0.1, (127 / 255 - 0.5) / 0.5, -2];
    v.forEach((x, i) => expect(x).toBeCloseTo(want[i], 5));
  });

  it('uses the CIFAR-10 constants of the reference', () => {
    const t = normalizeImages(new Uint8Array([125, 123, 114]), 1, 1, 1, 3, PREPROCESS.cifar10);
    const v = t.dataSync();
    expect(v[0]).toBeCloseTo(((125 - 125.3) / 255) / (63.0 / 255), 5);
    expect(v[1]).toBeCloseTo(0, 5);
    expect(v[2]).toBeCloseTo((114 - 113.9) / 66.7, 5);
    t.dispose();
  });

  it('rejects a spec whose channel count does not match', () => {
    expect(() => normalizeImages(new Uint8Array(4), 1, 2, 2, 1, PREPROCESS.cifar10)).toThrow(/channels/);
  });

  it('scales to [0,1] for the reconstruction target', () => {
    const t = toUnitImages(new Uint8Array([0, 51, 255, 102]), 1, 2, 2, 1);
    expect(t.shape).toEqual([1, 2, 2, 1]);
    Array.from(t.dataSync()).forEach((x, i) => expect(x).toBeCloseTo([0, 0.2, 1, 0.4][i], 6));
    t.dispose();
  });
});

describe('PREPROCESS presets', () => {
  it('match the reference recipe', () => {
    expect(PREPROCESS.svhn).toMatchObject({ pad: 2, flip: false, mean: [0.5, 0.5, 0.5] });
    expect(PREPROCESS.stl10).toMatchObject({ pad: 4, flip: true, padMode: 'reflect' });
    expect(PREPROCESS.cifar10).toMatchObject({ pad: 4, flip: true, padMode: 'reflect' });
    expect(PREPROCESS.mnist).toMatchObject({ mean: [0.5], std: [0.5], flip: false });
    expect(PREPROCESS['fashion-mnist']).toMatchObject({ mean: [0.5], std: [0.5], flip: true });
  });
});
