import { describe, expect, it } from 'vitest';
import type { ImageSet } from '../../../engine/data/dataset.js';
import { gatherBatch, shuffledOrder, subset } from '../../../engine/data/dataset.js';

function makeSet(count: number): ImageSet {
  const images = new Uint8Array(count * 2 * 2 * 1);
  for (let i = 0; i < count; i++) images.fill(i, i * 4, (i + 1) * 4);
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count, height: 2, width: 2, channels: 1 };
}

describe('subset', () => {
  it('takes the first N images and labels', () => {
    const s = subset(makeSet(20), 5);
    expect(s.count).toBe(5);
    expect(s.images.length).toBe(20);
    expect(Array.from(s.images.subarray(16))).toEqual([4, 4, 4, 4]);
    expect(Array.from(s.labels)).toEqual([0, 1, 2, 3, 4]);
  });

  it('returns the whole set without a limit or with a large one', () => {
    const set = makeSet(3);
    expect(subset(set)).toBe(set);
    expect(subset(set, 10)).toBe(set);
  });

  it('rejects a negative or fractional limit', () => {
    expect(() => subset(makeSet(3), -1)).toThrow(RangeError);
    expect(() => subset(makeSet(3), 1.5)).toThrow(RangeError);
  });
});

describe('gatherBatch', () => {
  it('copies the requested images in order', () => {
    const b = gatherBatch(makeSet(10), [7, 2, 7]);
    expect(Array.from(b.images)).toEqual([7, 7, 7, 7, 2, 2, 2, 2, 7, 7, 7, 7]);
    expect(Array.from(b.labels)).toEqual([7, 2, 7]);
  });

  it('throws on an out-of-range index', () => {
    expect(() => gatherBatch(makeSet(3), [3])).toThrow(/out of range/);
  });
});

describe('shuffledOrder', () => {
  it('is a permutation that depends only on seed and epoch', () => {
    const a = shuffledOrder(100, 1, 0);
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(shuffledOrder(100, 1, 0))).toEqual(Array.from(a));
    expect(Array.from(shuffledOrder(100, 1, 1))).not.toEqual(Array.from(a));
    expect(Array.from(shuffledOrder(100, 2, 0))).not.toEqual(Array.from(a));
    expect(Array.from(a)).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('pins the order so a change in the generator is caught', () => {
    expect(Array.from(shuffledOrder(8, 42, 3))).toEqual([5, 2, 1, 0, 7, 6, 4, 3]);
  });

  it('handles empty and single-element orders', () => {
    expect(shuffledOrder(0, 1, 1).length).toBe(0);
    expect(Array.from(shuffledOrder(1, 1, 1))).toEqual([0]);
  });
});
