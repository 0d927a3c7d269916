/**
 * SVHN cropped digits (`train_32x32.mat`, `test_32x32.mat`): MAT v5 files with
 * X = uint8 32x32x3xN (column-major) and y = Nx1 labels 1..10 where 10 means
 * the digit 0.
 */
import type { ImageSet } from '../dataset.js';
import { DatasetFileError } from './dataset-file-error.js';
import { MI, matValue, parseMat5 } from './mat5.js';
import { readBytes } from './read-file.js';

export const SVHN_FILES = { train: 'train_32x32.mat', test: 'test_32x32.mat' } as const;

/** Converts parsed MAT bytes into an HWC ImageSet, validating shapes and labels. */
export function parseSvhnMat(data: Uint8Array, file: string): ImageSet {
  const vars = parseMat5(data, file);
  const X = vars.get('X');
  const y = vars.get('y');
  if (!X || !y) {
    throw new DatasetFileError(file, `expected numeric variables 'X' and 'y', found [${[...vars.keys()].join(', ')}]`);
  }
  const [h, w, c, n = 1, ...rest] = X.dims;
  if (h !== 32 || w !== 32 || c !== 3 || rest.some((d) => d !== 1)) {
    throw new DatasetFileError(file, `expected X of size 32x32x3xN, found ${X.dims.join('x')}`);
  }
  const yCount = y.dims.reduce((a, b) => a * b, 1);
  if (yCount !== n || y.dims.filter((d) => d !== 1).length > 1) {
    throw new DatasetFileError(file, `expected y of size ${n}x1 to match X, found ${y.dims.join('x')}`);
  }
  const size = h * w * c;
  const images = new Uint8Array(n * size);
  if (X.storageType === MI.UINT8) {
    // Column-major X(row, col, ch, i) at row + 32*col + 1024*ch + 3072*i -> HWC.
    const src = X.real;
    for (let i = 0; i < n; i++) {
      const base = i * size;
      for (let ch = 0; ch < c; ch++) {
        for (let col = 0; col < w; col++) {
          const s = base + ch * h * w + col * h;
          for (let row = 0; row < h; row++) images[base + (row * w + col) * c + ch] = src[s + row];
        }
      }
    }
  } else {
    // Rare: X stored in a wider type. Slow path, values must still be bytes.
    for (let i = 0; i < n; i++)
      for (let ch = 0; ch < c; ch++)
        for (let col = 0; col < w; col++)
          for (let row = 0; row < h; row++) {
            const v = matValue(X, i * size + ch * h * w + col * h + row);
            if (!(v >= 0 && v <= 255 && Number.isInteger(v))) {
              throw new DatasetFileError(file, `X value ${v} is not a byte (image ${i})`);
            }
            images[i * size + (row * w + col) * c + ch] = v;
          }
  }
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = matValue(y, i);
    if (!(Number.isInteger(v) && v >= 1 && v <= 10)) {
      throw new DatasetFileError(file, `label ${i} is ${v}, expected 1..10 (10 = digit 0)`);
    }
    labels[i] = v === 10 ? 0 : v;
  }
  return { images, labels, count: n, height: h, width: w, channels: c };
}

export async function readSvhnFile(file: string): Promise<ImageSet> {
  return parseSvhnMat(await readBytes(file), file);
}
