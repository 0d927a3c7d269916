import { afterAll, describe, expect, it } from 'vitest';
import { DatasetFileError } from '../../../engine/data/readers/dataset-file-error.js';
import { parseIdxImages, parseIdxLabels, readIdxSet } from '../../../engine/data/readers/idx.js';
import { gzip, idxImages, idxLabels, pixel } from './format-writers.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('IDX (MNIST / Fashion-MNIST) reader', () => {
  it('reads gzipped image and label files', async () => {
    const img = tmp.write('train-images-idx3-ubyte.gz', gzip(idxImages(5, 28, 28)));
    const lab = tmp.write('train-labels-idx1-ubyte.gz', gzip(idxLabels([0, 9, 3, 3, 7])));
    const set = await readIdxSet(img, lab);
    expect(set).toMatchObject({ count: 5, height: 28, width: 28, channels: 1 });
    expect(Array.from(set.labels)).toEqual([0, 9, 3, 3, 7]);
    expect(set.images[4 * 784 + 13 * 28 + 20]).toBe(pixel(4, 13, 20, 0));
  });

  it('reads un-gzipped files too', async () => {
    const img = tmp.write('t10k-images-idx3-ubyte', idxImages(2, 28, 28));
    const lab = tmp.write('t10k-labels-idx1-ubyte', idxLabels([1, 2]));
    expect((await readIdxSet(img, lab)).count).toBe(2);
  });

  it('reports a raw file cut short with header and found sizes', () => {
    const cut = idxImages(5, 28, 28).subarray(0, 16 + 2 * 784);
    expect(() => parseIdxImages(cut, '/x/t10k-images-idx3-ubyte')).toThrow(
      '/x/t10k-images-idx3-ubyte: truncated IDX file: header says 5 images of 28x28 (3936 bytes), found 1584 bytes. Delete it and rerun to download again, or replace it.',
    );
  });

  it('reports a gzip file cut in half, naming it', async () => {
    const gz = gzip(idxImages(50, 28, 28));
    const f = tmp.write('cut-images-idx3-ubyte.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    const lab = tmp.write('cut-labels-idx1-ubyte.gz', gzip(idxLabels(new Array<number>(50).fill(1))));
    await expect(readIdxSet(f, lab)).rejects.toThrow(DatasetFileError);
    await expect(readIdxSet(f, lab)).rejects.toThrow(/cut-images-idx3-ubyte\.gz: truncated IDX file: header says 50 images of 28x28 \(39216 bytes\), found \d+ bytes \(gzip stream is damaged/);
  });

  it('rejects a wrong magic number', () => {
    expect(() => parseIdxImages(gzip(idxImages(1, 28, 28, 0x00000801)), '/x/a.gz')).toThrow(/\/x\/a\.gz: not an IDX image file: expected magic 0x00000803, found 0x00000801/);
    expect(() => parseIdxLabels(idxLabels([1], 0x00000803), '/x/b')).toThrow(/\/x\/b: not an IDX label file: expected magic 0x00000801, found 0x00000803/);
  });

  it('rejects truncated labels, too-long files, bad labels and count mismatches', async () => {
    expect(() => parseIdxLabels(idxLabels([1, 2, 3]).subarray(0, 10), '/l')).toThrow(/\/l: truncated IDX file: header says 3 labels \(11 bytes\), found 10 bytes/);
    expect(() => parseIdxLabels(Uint8Array.from([...idxLabels([1]), 0]), '/l2')).toThrow(/\/l2: IDX file too long/);
    expect(() => parseIdxLabels(idxLabels([1, 10]), '/l3')).toThrow(/\/l3: label 1 is 10, expected 0\.\.9/);
    const img = tmp.write('m-images', idxImages(3, 4, 4));
    const lab = tmp.write('m-labels', idxLabels([1, 2]));
    await expect(readIdxSet(img, lab)).rejects.toThrow(/m-labels: has 2 labels but .*m-images has 3 images/);
  });
});
