import { describe, expect, it } from 'vitest';
import type { ImageSet } from '../../../engine/data/dataset.js';
import { fitImageSet, fitPreprocess } from '../../../engine/data/fit-input.js';
import { applyDataRecipe, augmentSpec } from '../../../engine/data/recipe.js';

const grey: ImageSet = {
  images: Uint8Array.from({ length: 2 * 2 * 2 }, (_, i) => i + 1),
  labels: Uint8Array.from([3, 7]),
  count: 2, height: 2, width: 2, channels: 1,
};

describe('fitImageSet', () => {
  it('zero-pads 2x2x1 images to 4x4x3, centred, with the grey value in every channel', () => {
    const out = fitImageSet(grey, { size: 4, channels: 3 });
    expect([out.count, out.height, out.width, out.channels]).toEqual([2, 4, 4, 3]);
    const at = (n: number, y: number, x: number, c: number) => out.images[n * 48 + (y * 4 + x) * 3 + c];
    expect(at(0, 0, 0, 0)).toBe(0);
    expect([at(0, 1, 1, 0), at(0, 1, 1, 1), at(0, 1, 1, 2)]).toEqual([1, 1, 1]);
    expect(at(0, 2, 2, 2)).toBe(4);
    expect(at(1, 1, 2, 1)).toBe(6);
    expect(at(1, 3, 3, 0)).toBe(0);
    expect(Array.from(out.labels)).toEqual([3, 7]);
  });

  it('returns the set itself when it already has the shape, and refuses to crop', () => {
    expect(fitImageSet(grey, { size: 2, channels: 1 })).toBe(grey);
    expect(() => fitImageSet(grey, { size: 1, channels: 1 })).toThrow(/smaller/);
  });

  it('repeats a one-channel normalisation for three channels', () => {
    const spec = fitPreprocess({ mean: [0.5], std: [0.25], pad: 0, padMode: 'zero', flip: false }, 3);
    expect(spec.mean).toEqual([0.5, 0.5, 0.5]);
    expect(spec.std).toEqual([0.25, 0.25, 0.25]);
  });
});

describe('applyDataRecipe', () => {
  const base = { mean: [0.5], std: [0.5], pad: 0, padMode: 'zero' as const, flip: true };
  const data = { name: 'fashion-mnist' as const, numClasses: 10, train: grey, test: grey, preprocess: base };

  it('keeps the preset and shape when the recipe says nothing', () => {
    const out = applyDataRecipe(data, {});
    expect(out.train).toBe(grey);
    expect(out.preprocess).toEqual(base);
  });

  it('maps augment names onto pad and flip', () => {
    expect(augmentSpec(base, 'none', undefined)).toMatchObject({ pad: 0, flip: false });
    expect(augmentSpec(base, 'flip', 3)).toMatchObject({ pad: 0, flip: true });
    expect(augmentSpec(base, 'crop', undefined)).toMatchObject({ pad: 4, flip: false });
    expect(augmentSpec(base, 'crop-flip', 2)).toMatchObject({ pad: 2, flip: true });
  });

  it('feeds 2x2x1 images as 4x4x3 with a 3-channel normalisation', () => {
    const out = applyDataRecipe(data, { inputSize: 4, channels: 3, augment: 'none' });
    expect([out.train.height, out.test.channels]).toEqual([4, 3]);
    expect(out.preprocess.mean).toEqual([0.5, 0.5, 0.5]);
    expect(out.preprocess.flip).toBe(false);
  });
});
