import { readFile } from 'node:fs/promises';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { DatasetFileError } from './dataset-file-error.js';

/** Reads a whole file, turning a missing/unreadable file into a DatasetFileError. */
export async function readBytes(file: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(file);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err: unknown) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new DatasetFileError(file, `cannot read file (${msg})`, '');
  }
}

export function isGzip(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

export interface Gunzipped {
  data: Uint8Array;
  /** Set when the gzip stream was cut short or corrupt; data is what could be recovered. */
  streamError?: string;
}

/**
 * Inflates gzip data. A damaged stream is not thrown here: the caller gets
 * whatever decompressed cleanly plus the zlib message, so it can report the
 * format-level shortfall ("header says N, found M") that users understand.
 */
export function gunzipLenient(data: Uint8Array): Gunzipped {
  try {
    return { data: new Uint8Array(gunzipSync(data)) };
  } catch (err: unknown) {
    const streamError = err instanceof Error ? err.message : String(err);
    try {
      const partial = gunzipSync(data, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      return { data: new Uint8Array(partial), streamError };
    } catch {
      return { data: new Uint8Array(0), streamError };
    }
  }
}
