import { Packr } from 'msgpackr';
import type { ModelConfig } from '../model/config.js';

/**
 * The checkpoint and model file formats, without tensors: one msgpack map,
 * tensors as raw little-endian float32 bytes. Pure (no tfjs) so readers that
 * only need the numbers, such as the ONNX export, do not load tfjs.
 */
export const packr = new Packr({ useRecords: false });

export interface StoredTensor {
  shape: number[];
  bytes: Uint8Array;
}

export interface StageCheckpoint {
  format: 'contsup-stage';
  version: 1;
  firstModule: number;
  lastModule: number;
  step: number;
  params: Record<string, StoredTensor>;
  momentum: Record<string, StoredTensor>;
}

export interface ModelFile {
  format: 'contsup-model';
  version: 1;
  config: ModelConfig;
  params: Record<string, StoredTensor>;
}

/** Unpacks a file and checks its format and version; the message names what was found instead. */
export function decodeFile<T extends { format: string; version: number }>(bytes: Uint8Array, format: T['format']): T {
  let obj: unknown;
  try {
    obj = packr.unpack(bytes);
  } catch (err: unknown) {
    throw new Error(`not a ${format} file: ${err instanceof Error ? err.message : String(err)}`);
  }
  const o = obj as Partial<T> | null;
  if (!o || typeof o !== 'object' || o.format !== format) throw new Error(`not a ${format} file (format field is ${JSON.stringify(o?.format)})`);
  if (o.version !== 1) throw new Error(`${format} version ${String(o.version)} is not supported (this contsup reads version 1)`);
  return o as T;
}

/** Reads a model file (`GET /api/jobs/:id/model`, `saveModel`, `combineStages`). */
export function readModelFile(bytes: Uint8Array): ModelFile {
  return decodeFile<ModelFile>(bytes, 'contsup-model');
}

/**
 * The float32 values of one stored tensor, checked against the shape the
 * reader expects. Copies: msgpack may hand back the bytes at an offset a
 * Float32Array cannot view.
 */
export function storedValues(s: StoredTensor | undefined, name: string, expect: readonly number[]): Float32Array {
  if (!s) throw new Error(`model file has no tensor ${name}`);
  const shapeOk = Array.isArray(s.shape) && s.shape.length === expect.length && s.shape.every((d, i) => d === expect[i]);
  if (!shapeOk) throw new Error(`checkpoint tensor ${name} has shape [${s.shape}], the model expects [${expect}]: it was saved for a different model configuration`);
  const n = expect.reduce((a, b) => a * b, 1);
  if (!(s.bytes instanceof Uint8Array) || s.bytes.byteLength !== n * 4) throw new Error(`checkpoint tensor ${name} holds ${s.bytes?.byteLength} bytes, expected ${n * 4} (float32 [${expect}]): the file is truncated or corrupt`);
  const values = new Float32Array(n);
  new Uint8Array(values.buffer).set(s.bytes);
  return values;
}
