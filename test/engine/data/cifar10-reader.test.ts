import { afterAll, describe, expect, it } from 'vitest';
import { DatasetFileError } from '../../../engine/data/readers/dataset-file-error.js';
import { parseCifar10Batch, readCifar10Files } from '../../../engine/data/readers/cifar10.js';
import { cifarBatch, pixel } from './format-writers.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('CIFAR-10 binary reader', () => {
  it('converts planar CHW records to HWC with their labels', async () => {
    const a = tmp.write('data_batch_1.bin', cifarBatch([3, 9, 0]));
    const b = tmp.write('data_batch_2.bin', cifarBatch([7, 1, 2]));
    const set = await readCifar10Files([a, b], 3);
    expect(set).toMatchObject({ count: 6, height: 32, width: 32, channels: 3 });
    expect(Array.from(set.labels)).toEqual([3, 9, 0, 7, 1, 2]);
    // Image 4 is record 1 of the second file: check (y=5, x=17, ch=2).
    expect(set.images[4 * 3072 + (5 * 32 + 17) * 3 + 2]).toBe(pixel(1, 5, 17, 2));
    expect(set.images[1 * 3072 + (31 * 32 + 0) * 3 + 0]).toBe(pixel(1, 31, 0, 0));
  });

  it('rejects a truncated batch, naming the file and the sizes', async () => {
    const f = tmp.write('cut.bin', cifarBatch([1, 2, 3]).subarray(0, 3073 * 2 + 100));
    await expect(readCifar10Files([f], 3)).rejects.toThrow(DatasetFileError);
    await expect(readCifar10Files([f], 3)).rejects.toThrow(
      new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: truncated CIFAR-10 batch: expected 3 records of 3073 bytes \\(9219 bytes\\), found 6246 bytes`),
    );
  });

  it('rejects a file cut exactly at a record boundary (count check)', () => {
    expect(() => parseCifar10Batch(cifarBatch([1, 2]), '/d/data_batch_3.bin', 3)).toThrow(/\/d\/data_batch_3\.bin: truncated.*found 6146 bytes/);
  });

  it('requires the official 10000 records by default', () => {
    expect(() => parseCifar10Batch(cifarBatch([1]), '/d/test_batch.bin')).toThrow(/expected 10000 records/);
  });

  it('rejects an out-of-range label (wrong format)', () => {
    expect(() => parseCifar10Batch(cifarBatch([1, 10]), '/d/x.bin', 2)).toThrow(/\/d\/x\.bin: record 1 has label 10/);
  });

  it('names a missing file', async () => {
    await expect(readCifar10Files([`${tmp.dir}/nope.bin`], 1)).rejects.toThrow(/nope\.bin: cannot read file/);
  });
});
