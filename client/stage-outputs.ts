import type * as tf from '@tensorflow/tfjs-core';
import type { StageInput, StageOutput } from '../protocol/data-messages.js';
import { encodeFrame, type TensorFrame } from '../protocol/tensor-frame.js';
import type { StageTensors } from '../engine/train/stage-runner.js';
import type { StageBatch } from './stage-inputs.js';
import type { WireDtype } from '../engine/model/shape-contract.js';
import type { StageLayout } from './stage-layout.js';

function floatFrame(t: tf.Tensor, dtype: WireDtype): TensorFrame {
  const values = t.dataSync();
  if (!(values instanceof Float32Array)) throw new Error(`stage output tensor is ${t.dtype}, expected float32`);
  return encodeFrame(values, [...t.shape], dtype);
}

/**
 * The `stage:output` for the next stage: h at the job's wire dtype, the uint8
 * image when E or a decoder needs it downstream, the R history (module 0's
 * input as the uint8 image, the rest at the wire dtype) and the labels as
 * they came in.
 */
export function encodeStageOutput(msg: StageInput, out: StageTensors, batch: StageBatch, layout: StageLayout): StageOutput {
  const reply: StageOutput = {
    jobId: msg.jobId,
    stage: msg.stage,
    batchId: msg.batchId,
    epoch: msg.epoch,
    step: msg.step,
    phase: msg.phase,
    labels: msg.labels,
    h: floatFrame(out.h, layout.wire),
  };
  if (layout.carriesImage && batch.imageBytes) reply.image = encodeFrame(batch.imageBytes, [batch.n, ...layout.image], 'uint8');
  if (out.history.length > 0) {
    reply.history = out.history.map((t) => {
      const raw = batch.rawEntries.get(t);
      return raw ? encodeFrame(raw, [batch.n, ...layout.image], 'uint8') : floatFrame(t, layout.wire);
    });
  }
  return reply;
}
