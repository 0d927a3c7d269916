import * as tf from '@tensorflow/tfjs-core';
import { GllNetwork } from '../model/network.js';
import { decodeFile, packr, type ModelFile, type StageCheckpoint, type StoredTensor } from './checkpoint-format.js';
import type { StageRunner } from './stage-runner.js';

function store(t: tf.Tensor): StoredTensor {
  const data = t.dataSync() as Float32Array;
  return { shape: [...t.shape], bytes: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

function restore(s: StoredTensor, name: string, expect: readonly number[]): tf.Tensor {
  const shapeOk = s.shape.length === expect.length && s.shape.every((d, i) => d === expect[i]);
  if (!shapeOk) throw new Error(`checkpoint tensor ${name} has shape [${s.shape.join(',')}], the model expects [${expect.join(',')}]: it was saved for a different model configuration`);
  const n = expect.reduce((a, b) => a * b, 1);
  if (!(s.bytes instanceof Uint8Array) || s.bytes.byteLength !== n * 4) throw new Error(`checkpoint tensor ${name} holds ${s.bytes?.byteLength} bytes, expected ${n * 4} (float32 [${expect.join(',')}]): the file is truncated or corrupt`);
  // Copy: msgpack may hand back the bytes at an offset a Float32Array cannot view.
  const values = new Float32Array(n);
  new Uint8Array(values.buffer).set(s.bytes);
  return tf.tensor(values, [...expect], 'float32');
}

/** Serialises a stage's modules: parameters, BN state and momentum buffers. */
export function saveStage(runner: StageRunner, step: number): Uint8Array {
  const params: Record<string, StoredTensor> = {};
  const momentum: Record<string, StoredTensor> = {};
  runner.trainers.forEach((t) => {
    for (const p of runner.net.moduleParams(t.k)) {
      params[p.name] = store(p.variable);
      const buf = t.optimizer.buffer(p.variable);
      if (buf) momentum[p.name] = store(buf);
    }
  });
  const ckpt: StageCheckpoint = { format: 'contsup-stage', version: 1, firstModule: runner.first, lastModule: runner.last, step, params, momentum };
  return packr.pack(ckpt);
}

/**
 * `saveStage` for devices: every tensor is first read asynchronously (the
 * values stay cached on the tensor, so saveStage's synchronous reads are
 * then free). WebGPU cannot read synchronously.
 */
export async function saveStageAsync(runner: StageRunner, step: number): Promise<Uint8Array> {
  const tensors: tf.Tensor[] = [];
  runner.trainers.forEach((t) => {
    for (const p of runner.net.moduleParams(t.k)) {
      tensors.push(p.variable);
      const buf = t.optimizer.buffer(p.variable);
      if (buf) tensors.push(buf);
    }
  });
  await Promise.all(tensors.map((t) => t.data()));
  return saveStage(runner, step);
}

/** Restores a stage saved by `saveStage`; returns the step it was saved at. */
export function loadStage(runner: StageRunner, bytes: Uint8Array): number {
  const ckpt = decodeFile<StageCheckpoint>(bytes, 'contsup-stage');
  if (ckpt.firstModule !== runner.first || ckpt.lastModule !== runner.last) {
    throw new Error(`checkpoint is for modules ${ckpt.firstModule}..${ckpt.lastModule}, this stage runs ${runner.first}..${runner.last}`);
  }
  runner.trainers.forEach((t) => {
    for (const p of runner.net.moduleParams(t.k)) {
      const s = ckpt.params[p.name];
      if (!s) throw new Error(`checkpoint has no tensor ${p.name}`);
      const v = restore(s, p.name, p.variable.shape);
      p.variable.assign(v);
      v.dispose();
      const m = ckpt.momentum[p.name];
      if (m) t.optimizer.setBuffer(p.variable, restore(m, `${p.name} (momentum)`, p.variable.shape));
    }
  });
  return ckpt.step;
}

/** Model file of a network trained in this process. */
export function saveModel(net: GllNetwork): Uint8Array {
  const params: Record<string, StoredTensor> = {};
  for (const p of net.store.params) params[p.name] = store(p.variable);
  const file: ModelFile = { format: 'contsup-model', version: 1, config: net.config, params };
  return packr.pack(file);
}

/** Rebuilds a trained network from a model file (`GET /api/jobs/:id/model`, or `saveModel`). */
export function loadModel(bytes: Uint8Array): GllNetwork {
  const file = decodeFile<ModelFile>(bytes, 'contsup-model');
  const net = new GllNetwork(file.config);
  try {
    for (const p of net.store.params) {
      const s = file.params[p.name];
      if (!s) throw new Error(`model file has no tensor ${p.name}`);
      const v = restore(s, p.name, p.variable.shape);
      p.variable.assign(v);
      v.dispose();
    }
  } catch (err: unknown) {
    net.dispose();
    throw err;
  }
  return net;
}
