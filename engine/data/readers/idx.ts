/**
 * MNIST / Fashion-MNIST IDX reader (gzipped or raw): images magic 0x00000803
 * with big-endian count, rows, cols; labels magic 0x00000801 with count.
 */
import type { ImageSet } from '../dataset.js';
import { DatasetFileError, bytes } from './dataset-file-error.js';
import { gunzipLenient, isGzip, readBytes } from './read-file.js';

const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

function unpack(raw: Uint8Array): { data: Uint8Array; streamError?: string } {
  return isGzip(raw) ? gunzipLenient(raw) : { data: raw };
}

function readU32BE(d: Uint8Array, off: number): number {
  return ((d[off] << 24) | (d[off + 1] << 16) | (d[off + 2] << 8) | d[off + 3]) >>> 0;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function checkLength(
  file: string,
  what: string,
  expected: number,
  found: number,
  streamError: string | undefined,
): void {
  if (found === expected && !streamError) return;
  const gz = streamError ? ` (gzip stream is damaged: ${streamError})` : '';
  if (found < expected || streamError) {
    throw new DatasetFileError(file, `truncated IDX file: header says ${what} (${bytes(expected)}), found ${bytes(found)}${gz}`);
  }
  throw new DatasetFileError(file, `IDX file too long: header says ${what} (${bytes(expected)}), found ${bytes(found)}`);
}

/** Parses an IDX3 image file's bytes (gzip or raw) into [N,rows,cols,1] uint8. */
export function parseIdxImages(raw: Uint8Array, file: string): { images: Uint8Array; count: number; height: number; width: number } {
  const { data, streamError } = unpack(raw);
  if (data.length < 16) {
    throw new DatasetFileError(file, `truncated IDX image file: expected a 16-byte header, found ${bytes(data.length)}${streamError ? ` (gzip stream is damaged: ${streamError})` : ''}`);
  }
  const magic = readU32BE(data, 0);
  if (magic !== IMAGES_MAGIC) {
    throw new DatasetFileError(file, `not an IDX image file: expected magic ${hex(IMAGES_MAGIC)}, found ${hex(magic)}`);
  }
  const count = readU32BE(data, 4);
  const height = readU32BE(data, 8);
  const width = readU32BE(data, 12);
  if (height === 0 || width === 0 || height > 4096 || width > 4096) {
    throw new DatasetFileError(file, `implausible IDX image size ${height}x${width}`);
  }
  const expected = 16 + count * height * width;
  checkLength(file, `${count} images of ${height}x${width}`, expected, data.length, streamError);
  return { images: data.subarray(16), count, height, width };
}

/** Parses an IDX1 label file's bytes (gzip or raw); every label must be < numClasses. */
export function parseIdxLabels(raw: Uint8Array, file: string, numClasses = 10): Uint8Array {
  const { data, streamError } = unpack(raw);
  if (data.length < 8) {
    throw new DatasetFileError(file, `truncated IDX label file: expected an 8-byte header, found ${bytes(data.length)}${streamError ? ` (gzip stream is damaged: ${streamError})` : ''}`);
  }
  const magic = readU32BE(data, 0);
  if (magic !== LABELS_MAGIC) {
    throw new DatasetFileError(file, `not an IDX label file: expected magic ${hex(LABELS_MAGIC)}, found ${hex(magic)}`);
  }
  const count = readU32BE(data, 4);
  checkLength(file, `${count} labels`, 8 + count, data.length, streamError);
  const labels = data.subarray(8);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= numClasses) {
      throw new DatasetFileError(file, `label ${i} is ${labels[i]}, expected 0..${numClasses - 1}`);
    }
  }
  return labels;
}

/** Reads a matching IDX image + label file pair into an ImageSet (1 channel). */
export async function readIdxSet(imagesFile: string, labelsFile: string, numClasses = 10): Promise<ImageSet> {
  const img = parseIdxImages(await readBytes(imagesFile), imagesFile);
  const labels = parseIdxLabels(await readBytes(labelsFile), labelsFile, numClasses);
  if (labels.length !== img.count) {
    throw new DatasetFileError(labelsFile, `has ${labels.length} labels but ${imagesFile} has ${img.count} images`, 'Replace the mismatched file.');
  }
  return { images: img.images, labels, count: img.count, height: img.height, width: img.width, channels: 1 };
}
