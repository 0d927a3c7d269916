import { afterAll, describe, expect, it } from 'vitest';
import { DatasetFileError } from '../../../engine/data/readers/dataset-file-error.js';
import { parseStl10, readStl10Pair } from '../../../engine/data/readers/stl10.js';
import { pixel, stlImages } from './format-writers.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('STL-10 binary reader', () => {
  it('converts column-major planes to HWC and labels 1..10 to 0..9', async () => {
    const x = tmp.write('train_X.bin', stlImages(3));
    const y = tmp.write('train_y.bin', Uint8Array.from([1, 10, 4]));
    const set = await readStl10Pair(x, y, 3);
    expect(set).toMatchObject({ count: 3, height: 96, width: 96, channels: 3 });
    expect(Array.from(set.labels)).toEqual([0, 9, 3]);
    // Row 10, column 70, channel 1 of image 2: column-major source, so transposition errors show.
    expect(set.images[2 * 27648 + (10 * 96 + 70) * 3 + 1]).toBe(pixel(2, 10, 70, 1));
    expect(set.images[2 * 27648 + (70 * 96 + 10) * 3 + 1]).toBe(pixel(2, 70, 10, 1));
  });

  it('rejects an image file that is not a whole number of images', async () => {
    const x = tmp.write('cut_X.bin', stlImages(2).subarray(0, 27648 + 500));
    const y = tmp.write('cut_y.bin', Uint8Array.from([1, 2]));
    await expect(readStl10Pair(x, y)).rejects.toThrow(DatasetFileError);
    await expect(readStl10Pair(x, y)).rejects.toThrow(/cut_X\.bin: truncated or corrupt STL-10 image file: expected a non-zero multiple of 27648 bytes.*found 28148 bytes/);
  });

  it('rejects a file cut at an image boundary when the count is known', () => {
    expect(() => parseStl10(stlImages(2), Uint8Array.from([1, 2]), '/s/test_X.bin', '/s/test_y.bin', 3)).toThrow(
      /\/s\/test_X\.bin: truncated STL-10 image file: expected 3 images \(82944 bytes\), found 2/,
    );
  });

  it('rejects a label file whose count or values are wrong', () => {
    expect(() => parseStl10(stlImages(2), Uint8Array.from([1]), '/s/X.bin', '/s/y.bin')).toThrow(/\/s\/y\.bin: expected 2 labels/);
    expect(() => parseStl10(stlImages(2), Uint8Array.from([1, 0]), '/s/X.bin', '/s/y.bin')).toThrow(/\/s\/y\.bin: label 1 is 0, expected 1\.\.10/);
  });
});
