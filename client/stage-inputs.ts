import * as tf from '@tensorflow/tfjs-core';
import type { StageInput } from '../protocol/data-messages.js';
import { ProtocolError } from '../protocol/errors.js';
import { decodeFrame, validateFrame, type TensorFrame } from '../protocol/tensor-frame.js';
import { augmentImages, normalizeImages, toUnitImages } from '../engine/data/preprocess.js';
import type { GllNetwork } from '../engine/model/network.js';
import { prepareBatch } from '../engine/train/batches.js';
import { disposeStageTensors, type StageTensors } from '../engine/train/stage-runner.js';
import type { StageLayout } from './stage-layout.js';

/** One input rebuilt as tensors, ready for StageRunner. */
export interface StageBatch {
  n: number;
  input: StageTensors;
  labels: tf.Tensor1D;
  target: tf.Tensor4D | null;
  /** The uint8 (augmented) image travelling with the batch; null when nothing downstream needs it. */
  imageBytes: Uint8Array | null;
  /**
   * Tensors that are the normalised image (module 0's input) mapped to its
   * uint8 bytes: such a history entry goes on as uint8, 4x smaller and exact.
   */
  rawEntries: Map<tf.Tensor, Uint8Array>;
}

export function disposeStageBatch(b: StageBatch): void {
  disposeStageTensors(b.input);
  b.labels.dispose();
  if (b.target) b.target.dispose();
}

function floats(frame: TensorFrame): Float32Array {
  const v = decodeFrame(frame);
  if (!(v instanceof Float32Array)) throw new ProtocolError('bad-tensor', `expected a float frame, got ${frame.dtype}`);
  return v;
}

function bytes(frame: TensorFrame): Uint8Array {
  const v = decodeFrame(frame);
  if (!(v instanceof Uint8Array)) throw new ProtocolError('bad-tensor', `expected a uint8 frame, got ${frame.dtype}`);
  return v;
}

/** Label values, checked against the class count: an out-of-range label would train on a zero one-hot row. */
function labelValues(msg: StageInput, layout: StageLayout, what: string): Int32Array {
  const raw = decodeFrame(msg.labels);
  const values = raw instanceof Int32Array ? raw : Int32Array.from(raw);
  for (let i = 0; i < values.length; i++) {
    const y = values[i]!;
    if (y < 0 || y >= layout.numClasses) {
      throw new ProtocolError('bad-tensor', `${what}: labels[${i}] is ${y}; the job has ${layout.numClasses} classes (0..${layout.numClasses - 1})`);
    }
  }
  return values;
}

/**
 * Checks every tensor of `msg` against what the stage expects. Throws
 * ProtocolError('bad-tensor') naming the tensor, its shape and the expected
 * one; nothing is allocated before this passes, so a rejection leaks nothing.
 */
export function checkStageInput(msg: StageInput, layout: StageLayout): void {
  const what = `stage:input for batch ${msg.batchId}`;
  const by = layout.label;
  const n = msg.labels.shape[0]!;
  if (n < 1) throw new ProtocolError('bad-tensor', `${what}: the batch is empty`);
  if (msg.stage !== layout.stage) throw new ProtocolError('bad-tensor', `${what}: addressed to stage ${msg.stage}, this device runs ${by}`);
  if (layout.stage === 0) {
    validateFrame(msg.images, { dtype: 'uint8', shape: [n, ...layout.image], by }, `${what}: tensor images`);
    return;
  }
  validateFrame(msg.h, { dtype: layout.wire, shape: [n, ...layout.input], by }, `${what}: tensor h`);
  if (layout.carriesImage) {
    if (msg.image === undefined) throw new ProtocolError('bad-tensor', `${what}: tensor image is missing; ${by} needs the uint8 image (context E or a decoder)`);
    validateFrame(msg.image, { dtype: 'uint8', shape: [n, ...layout.image], by }, `${what}: tensor image`);
  } else if (msg.image !== undefined) {
    throw new ProtocolError('bad-tensor', `${what}: tensor image was sent but ${by} uses neither E context nor a decoder`);
  }
  const history = msg.history ?? [];
  if (history.length !== layout.history.length) {
    const want = layout.history.map((s) => `module ${s.module}`).join(', ') || 'none';
    throw new ProtocolError('bad-tensor', `${what}: history has ${history.length} entries, ${by} expects ${layout.history.length} (inputs of ${want})`);
  }
  layout.history.forEach((slot, i) => {
    validateFrame(history[i], { dtype: slot.dtype, shape: [n, ...slot.shape], by }, `${what}: tensor history[${i}] (input of module ${slot.module})`);
  });
}

/**
 * Rebuilds a checked input as tensors. Stage 0 augments the raw images with
 * `augmentSeed` (none: eval, raw) and goes through prepareBatch exactly like
 * the in-process trainer; later stages decode h and the context tensors.
 * The caller disposes the result (`disposeStageBatch`).
 */
export function decodeStageInput(msg: StageInput, layout: StageLayout, net: GllNetwork): StageBatch {
  checkStageInput(msg, layout);
  const what = `stage:input for batch ${msg.batchId}`;
  const n = msg.labels.shape[0]!;
  const labels = labelValues(msg, layout, what);
  const [H, W, C] = layout.image;
  const spec = layout.preprocess;
  const rawEntries = new Map<tf.Tensor, Uint8Array>();

  if (layout.stage === 0) {
    if (layout.numClasses > 256) throw new ProtocolError('bad-tensor', `${what}: stage 0 carries labels as bytes, so at most 256 classes (the job has ${layout.numClasses})`);
    const raw = bytes(msg.images!);
    const images = msg.augmentSeed === undefined ? raw : augmentImages(raw, n, H, W, C, spec, msg.augmentSeed);
    const p = prepareBatch(net, images, Uint8Array.from(labels), layout.image, spec);
    rawEntries.set(p.input.h, images);
    return { n, input: p.input, labels: p.labels, target: p.target, imageBytes: layout.carriesImage ? images : null, rawEntries };
  }

  // Decode every frame first (may throw on a bad int8 scale etc.), then make tensors.
  const hValues = floats(msg.h!);
  const imageBytes = layout.carriesImage ? bytes(msg.image!) : null;
  const historyValues = (msg.history ?? []).map((f, i) => (layout.history[i]!.dtype === 'uint8' ? bytes(f) : floats(f)));
  // No tidy: nothing here makes intermediates, and tidy would walk the byte arrays of the result.
  const made: tf.Tensor[] = [];
  const own = <T extends tf.Tensor>(t: T): T => {
    made.push(t);
    return t;
  };
  try {
    const h = own(tf.tensor4d(hValues, [n, ...layout.input]));
    const image = layout.usesImage && imageBytes ? own(normalizeImages(imageBytes, n, H, W, C, spec)) : null;
    const target = layout.decoder && imageBytes ? own(toUnitImages(imageBytes, n, H, W, C)) : null;
    const history = historyValues.map((v, i) => {
      if (v instanceof Uint8Array) {
        const t = own(normalizeImages(v, n, H, W, C, spec));
        rawEntries.set(t, v);
        return t;
      }
      return own(tf.tensor4d(v, [n, ...layout.history[i]!.shape]));
    });
    const labelTensor = own(tf.tensor1d(labels, 'int32'));
    return { n, input: { h, image, history }, labels: labelTensor, target, imageBytes, rawEntries };
  } catch (err: unknown) {
    tf.dispose(made);
    throw err;
  }
}
