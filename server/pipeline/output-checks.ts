import { ProtocolError, validateFrame, type StageOutput } from '../../protocol/index.js';
import type { OutputExpectation } from './job-model.js';

/**
 * Per-stage shape rules of a `stage:output` (the schema already checked each
 * frame's byte length against its own shape): the batch size must be the one
 * sent, h must have the shape and wire dtype the next stage is built for, and
 * the context tensors must be exactly what the job's mode forwards. Throws
 * ProtocolError('bad-tensor') naming the tensor, the shape and the fix.
 */
export function checkStageOutput(msg: StageOutput, expect: OutputExpectation, batchSize: number): void {
  const what = `stage:output for batch ${msg.batchId}`;
  const by = `stage ${msg.stage + 1}`;
  validateFrame(msg.labels, { dtype: ['uint8', 'int32'], shape: [batchSize], by: `the batch sent to stage ${msg.stage}` }, `${what}: tensor labels`);
  if (msg.h === undefined) throw new ProtocolError('bad-tensor', `${what}: h is missing; ${by} needs the features of this stage's last module`);
  validateFrame(msg.h, { dtype: expect.h.dtype, shape: [batchSize, ...expect.h.shape], by: `${by} (wire ${expect.h.dtype})` }, `${what}: tensor h`);

  if (expect.image) {
    if (msg.image === undefined) throw new ProtocolError('bad-tensor', `${what}: image is missing; this job's context/decoder needs the augmented uint8 image forwarded`);
    validateFrame(msg.image, { dtype: expect.image.dtype, shape: [batchSize, ...expect.image.shape], by }, `${what}: tensor image`);
  } else if (msg.image !== undefined) {
    throw new ProtocolError('bad-tensor', `${what}: image is sent but this job's context has no E and no decoder; leave it out`);
  }

  const history = msg.history ?? [];
  if (history.length !== expect.history.length) {
    const want = expect.history.length === 0 ? 'none (leave history out)' : `the inputs of modules ${expect.history.map((e) => e.module).join(', ')}`;
    throw new ProtocolError('bad-tensor', `${what}: history has ${history.length} entries, ${by} expects ${expect.history.length}: ${want}`);
  }
  expect.history.forEach((e, i) => {
    validateFrame(history[i], { dtype: e.dtype, shape: [batchSize, ...e.shape], by: `${by} (input of module ${e.module})` }, `${what}: tensor history[${i}]`);
  });
}
