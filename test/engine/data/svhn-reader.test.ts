import { afterAll, describe, expect, it } from 'vitest';
import { DatasetFileError } from '../../../engine/data/readers/dataset-file-error.js';
import { parseMat5 } from '../../../engine/data/readers/mat5.js';
import { parseSvhnMat, readSvhnFile } from '../../../engine/data/readers/svhn.js';
import { matFile, pixel, svhnVars } from './format-writers.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const LABELS = [1, 10, 5, 9];

function expectSvhn(set: ReturnType<typeof parseSvhnMat>): void {
  expect(set).toMatchObject({ count: 4, height: 32, width: 32, channels: 3 });
  // 10 means digit 0.
  expect(Array.from(set.labels)).toEqual([1, 0, 5, 9]);
  // Column-major X(row=3, col=20, ch=2, i=2) must land at HWC (2, 3, 20, 2).
  expect(set.images[2 * 3072 + (3 * 32 + 20) * 3 + 2]).toBe(pixel(2, 3, 20, 2));
  expect(set.images[3 * 3072 + (31 * 32 + 1) * 3 + 0]).toBe(pixel(3, 31, 1, 0));
}

describe('SVHN MAT v5 reader', () => {
  it('reads an uncompressed MAT file (y stored as double)', async () => {
    const f = tmp.write('train_32x32.mat', matFile(svhnVars(LABELS, 'double')));
    expectSvhn(await readSvhnFile(f));
  });

  it('reads zlib miCOMPRESSED variables (y stored as uint8 as MATLAB does)', async () => {
    const f = tmp.write('test_32x32.mat', matFile(svhnVars(LABELS, 'double-as-uint8'), { compressed: true }));
    expectSvhn(await readSvhnFile(f));
  });

  it('reads a big-endian MAT file', () => {
    expectSvhn(parseSvhnMat(matFile(svhnVars(LABELS, 'double'), { bigEndian: true }), '/be.mat'));
  });

  it('exposes dims and small-element names through parseMat5', () => {
    const vars = parseMat5(matFile(svhnVars(LABELS)), '/v.mat');
    expect([...vars.keys()].sort()).toEqual(['X', 'y']);
    expect(vars.get('X')?.dims).toEqual([32, 32, 3, 4]);
    expect(vars.get('y')?.dims).toEqual([4, 1]);
  });

  it('rejects a truncated uncompressed file, naming it', async () => {
    const full = matFile(svhnVars(LABELS));
    const f = tmp.write('cut.mat', full.subarray(0, Math.floor(full.length / 2)));
    await expect(readSvhnFile(f)).rejects.toThrow(DatasetFileError);
    await expect(readSvhnFile(f)).rejects.toThrow(new RegExp(`cut\\.mat: truncated MAT file: data element at offset 128 declares \\d+ bytes, only \\d+ bytes remain`));
  });

  it('rejects a truncated compressed file, naming it', async () => {
    const full = matFile(svhnVars(LABELS), { compressed: true });
    const f = tmp.write('cutz.mat', full.subarray(0, full.length - 40));
    await expect(readSvhnFile(f)).rejects.toThrow(/cutz\.mat: truncated MAT file/);
  });

  it('rejects a file without the MATLAB 5.0 header', () => {
    const bad = matFile(svhnVars(LABELS));
    bad.set(new TextEncoder().encode('MATLAB 7.3 MAT-file'), 0);
    expect(() => parseSvhnMat(bad, '/d/train_32x32.mat')).toThrow(/\/d\/train_32x32\.mat: not a MATLAB 5\.0 MAT-file.*found 'MATLAB 7\.3 MAT-file'/);
    expect(() => parseSvhnMat(new Uint8Array(50), '/d/tiny.mat')).toThrow(/tiny\.mat: truncated MAT file: expected a 128-byte header, found 50 bytes/);
  });

  it('rejects wrong shapes and label ranges', () => {
    const vars = svhnVars(LABELS);
    vars[0] = { ...vars[0], dims: [32, 16, 6, 4] };
    expect(() => parseSvhnMat(matFile(vars), '/s.mat')).toThrow(/\/s\.mat: expected X of size 32x32x3xN, found 32x16x6x4/);
    expect(() => parseSvhnMat(matFile(svhnVars([1, 11, 2, 3])), '/l.mat')).toThrow(/\/l\.mat: label 1 is 11/);
    expect(() => parseSvhnMat(matFile(svhnVars(LABELS).slice(0, 1)), '/n.mat')).toThrow(/expected numeric variables 'X' and 'y', found \[X\]/);
  });
});
