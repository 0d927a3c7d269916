/**
 * STL-10 binary version: `*_X.bin` holds uint8 96x96x3 images, each stored as
 * 3 channel planes in column-major order; `*_y.bin` holds labels 1..10.
 * The files have no header, so the caller passes the expected image count
 * (5000 train / 8000 test officially) to catch a file cut at an image boundary.
 */
import type { ImageSet } from '../dataset.js';
import { DatasetFileError, bytes } from './dataset-file-error.js';
import { readBytes } from './read-file.js';

export const STL10_FILES = {
  train: { images: 'train_X.bin', labels: 'train_y.bin', count: 5000 },
  test: { images: 'test_X.bin', labels: 'test_y.bin', count: 8000 },
} as const;

const SIDE = 96;
const PLANE = SIDE * SIDE;
const IMAGE = PLANE * 3;

/**
 * Decodes an images/labels pair. `expectedCount` undefined accepts any count
 * that the two files agree on.
 */
export function parseStl10(
  imagesData: Uint8Array,
  labelsData: Uint8Array,
  imagesFile: string,
  labelsFile: string,
  expectedCount?: number,
): ImageSet {
  if (imagesData.length % IMAGE !== 0 || imagesData.length === 0) {
    throw new DatasetFileError(imagesFile, `truncated or corrupt STL-10 image file: expected a non-zero multiple of ${IMAGE} bytes (96x96x3 per image), found ${bytes(imagesData.length)}`);
  }
  const n = imagesData.length / IMAGE;
  if (expectedCount !== undefined && n !== expectedCount) {
    throw new DatasetFileError(imagesFile, `${n < expectedCount ? 'truncated ' : ''}STL-10 image file: expected ${expectedCount} images (${bytes(expectedCount * IMAGE)}), found ${n} (${bytes(imagesData.length)})`);
  }
  if (labelsData.length !== n) {
    throw new DatasetFileError(labelsFile, `expected ${n} labels to match ${imagesFile}, found ${bytes(labelsData.length)}`);
  }
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = labelsData[i];
    if (v < 1 || v > 10) throw new DatasetFileError(labelsFile, `label ${i} is ${v}, expected 1..10`);
    labels[i] = v - 1;
  }
  const images = new Uint8Array(n * IMAGE);
  for (let i = 0; i < n; i++) {
    const base = i * IMAGE;
    for (let ch = 0; ch < 3; ch++) {
      for (let col = 0; col < SIDE; col++) {
        const s = base + ch * PLANE + col * SIDE;
        for (let row = 0; row < SIDE; row++) images[base + (row * SIDE + col) * 3 + ch] = imagesData[s + row];
      }
    }
  }
  return { images, labels, count: n, height: SIDE, width: SIDE, channels: 3 };
}

export async function readStl10Pair(imagesFile: string, labelsFile: string, expectedCount?: number): Promise<ImageSet> {
  return parseStl10(await readBytes(imagesFile), await readBytes(labelsFile), imagesFile, labelsFile, expectedCount);
}
