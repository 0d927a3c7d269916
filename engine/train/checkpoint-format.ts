import { Packr } from 'msgpackr';
import type { ModelConfig } from '../model/config.js';

/**
 * Checkpoint files: one msgpack map, tensors as raw little-endian float32 bin.
 * A stage checkpoint holds its modules' parameters, BN state and momentum
 * buffers; a model file holds every module's parameters and the model config,
 * so `loadModel` can rebuild the trained network anywhere. This file reads
 * and writes the format without tfjs (the coordinator combines stage files);
 * checkpoint.ts moves tensors in and out of it.
 */
/** Plain maps, not msgpackr records: any msgpack reader can open the files. */
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

/** Unpacks a checkpoint or model file and checks its format and version; names the problem otherwise. */
export function decodeFile<T extends { format: string; version: number }>(bytes: Uint8Array, format: T['format']): T {
  let obj: unknown;
  try {
    obj = packr.unpack(bytes);
  } catch (err: unknown) {
    throw new Error(`not a ${format} file: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const o = obj as Partial<T> | null;
  if (!o || typeof o !== 'object' || o.format !== format) throw new Error(`not a ${format} file (format field is ${JSON.stringify(o?.format)})`);
  if (o.version !== 1) throw new Error(`${format} version ${String(o.version)} is not supported (this contsup reads version 1)`);
  return o as T;
}

/** Builds one model file out of the stage checkpoints that together cover every module. */
export function combineStages(config: ModelConfig, stages: Uint8Array[]): Uint8Array {
  const params: Record<string, StoredTensor> = {};
  const covered = new Set<number>();
  for (const bytes of stages) {
    const ckpt = decodeFile<StageCheckpoint>(bytes, 'contsup-stage');
    for (let k = ckpt.firstModule; k <= ckpt.lastModule; k++) covered.add(k);
    Object.assign(params, ckpt.params);
  }
  const missing = Array.from({ length: config.modules }, (_, k) => k).filter((k) => !covered.has(k));
  if (missing.length) throw new Error(`no checkpoint covers module(s) ${missing.join(', ')}`);
  const file: ModelFile = { format: 'contsup-model', version: 1, config, params };
  return packr.pack(file);
}
