/**
 * CIFAR-10 binary version: each record is 1 label byte + 3072 bytes of the
 * 32x32 image as planar R, G, B (CHW); converted to HWC here.
 */
import type { ImageSet } from '../dataset.js';
import { DatasetFileError, bytes } from './dataset-file-error.js';
import { readBytes } from './read-file.js';

export const CIFAR10_TRAIN_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
] as const;
export const CIFAR10_TEST_FILE = 'test_batch.bin';
/** Records in every official batch file. */
export const CIFAR10_RECORDS_PER_FILE = 10000;

const SIDE = 32;
const PIXELS = SIDE * SIDE;
const RECORD = 1 + 3 * PIXELS;

/** Decodes one batch file; `records` is the count the file must hold exactly. */
export function parseCifar10Batch(data: Uint8Array, file: string, records = CIFAR10_RECORDS_PER_FILE): ImageSet {
  const expected = records * RECORD;
  if (data.length !== expected) {
    const kind = data.length < expected ? 'truncated CIFAR-10 batch' : 'CIFAR-10 batch too long';
    const extra = data.length % RECORD === 0 ? '' : ` (not a multiple of the ${RECORD}-byte record)`;
    throw new DatasetFileError(file, `${kind}: expected ${records} records of ${RECORD} bytes (${bytes(expected)}), found ${bytes(data.length)}${extra}`);
  }
  const images = new Uint8Array(records * PIXELS * 3);
  const labels = new Uint8Array(records);
  for (let r = 0; r < records; r++) {
    const rec = r * RECORD;
    const label = data[rec];
    if (label > 9) throw new DatasetFileError(file, `record ${r} has label ${label}, expected 0..9`);
    labels[r] = label;
    const out = r * PIXELS * 3;
    for (let ch = 0; ch < 3; ch++) {
      const plane = rec + 1 + ch * PIXELS;
      for (let p = 0; p < PIXELS; p++) images[out + p * 3 + ch] = data[plane + p];
    }
  }
  return { images, labels, count: records, height: SIDE, width: SIDE, channels: 3 };
}

/** Reads and concatenates several batch files (e.g. the five training batches). */
export async function readCifar10Files(files: readonly string[], records = CIFAR10_RECORDS_PER_FILE): Promise<ImageSet> {
  const parts: ImageSet[] = [];
  for (const f of files) parts.push(parseCifar10Batch(await readBytes(f), f, records));
  const count = parts.reduce((a, p) => a + p.count, 0);
  const images = new Uint8Array(count * PIXELS * 3);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * PIXELS * 3);
    labels.set(p.labels, at);
    at += p.count;
  }
  return { images, labels, count, height: SIDE, width: SIDE, channels: 3 };
}
