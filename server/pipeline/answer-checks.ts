import { EVENTS, ProtocolError, checkPayloadSize, type Phase, type StageCheckpoint, type StageOutput } from '../../protocol/index.js';
import type { BatchInfo } from './flow-control.js';
import { checkpointBytesBound, type JobModel } from './job-model.js';
import type { StageState } from './stage-state.js';

/**
 * Checks of a device's answers against what its stage was given: who holds
 * the stage, which stage may send what, headers echoed, modules reported.
 * The gateway already ran the schemas; each violation throws ProtocolError
 * naming the fix, for the gateway to send back. Tensor shapes are
 * output-checks.ts.
 */

/** The stage `stage` of the job, held by `deviceId`; 'not-assigned' otherwise. */
export function stageHeldBy(stages: StageState[], deviceId: string, stage: number, event: string, jobId: string, finished: boolean): StageState {
  const st = stages[stage];
  if (!st || st.deviceId !== deviceId || st.lost || finished) {
    throw new ProtocolError('not-assigned', `${event}: this device does not hold stage ${stage} of job ${jobId}`);
  }
  return st;
}

export function checkNotReady(st: StageState): void {
  if (st.ready) throw new ProtocolError('bad-schema', `stage:ready: stage ${st.index} is ready already`);
}

/** A `stage:output` comes from any stage but the last, within the stage's frame limit. */
export function checkOutputAllowed(st: StageState, stageCount: number, msg: StageOutput): void {
  if (st.index === stageCount - 1) {
    throw new ProtocolError('bad-schema', `stage:output for batch ${msg.batchId}: stage ${st.index} is the last stage; send stage:done instead`);
  }
  checkPayloadSize(EVENTS.stageOutput, msg, st.maxFrameBytes);
}

/** A `stage:done` comes from the last stage only. */
export function checkDoneAllowed(st: StageState, stageCount: number, batchId: number): void {
  if (st.index !== stageCount - 1) {
    throw new ProtocolError('bad-schema', `stage:done for batch ${batchId}: stage ${st.index} is not the last stage; send stage:output with the features for stage ${st.index + 1}`);
  }
}

/** An answer names the phase its batch was sent as. */
export function checkPhase(info: BatchInfo, phase: Phase, event: string, batchId: number): void {
  if (phase !== info.phase) {
    throw new ProtocolError('bad-schema', `${event} for batch ${batchId}: phase is ${phase} but the batch was sent as ${info.phase}`);
  }
}

/** A `stage:output` echoes its input's epoch and step. */
export function checkEcho(msg: StageOutput, info: BatchInfo): void {
  if (msg.epoch !== info.epoch || msg.step !== info.step) {
    throw new ProtocolError('bad-schema', `stage:output for batch ${msg.batchId}: epoch ${msg.epoch} / step ${msg.step} do not match the input's ${info.epoch} / ${info.step}; echo the input's header`);
  }
}

/** Metrics and evaluations carry one entry per module of the stage, in order. */
export function checkModules(st: StageState, modules: number[], event: string): void {
  const want = Array.from({ length: st.lastModule - st.firstModule + 1 }, (_, i) => st.firstModule + i);
  if (modules.length !== want.length || modules.some((m, i) => m !== want[i])) {
    throw new ProtocolError('bad-schema', `${event}: modules [${modules.join(',')}] reported, stage ${st.index} holds modules [${want.join(',')}]: send one entry per module, in order`);
  }
}

/** `stage:eval` is for evaluation batches only. */
export function checkEvalBatch(info: BatchInfo, batchId: number): void {
  if (info.phase !== 'eval') throw new ProtocolError('bad-batch', `stage:eval for batch ${batchId}: that is a training batch; send stage:metrics for it`);
}

/** A stage evaluates each batch once. */
export function checkFirstEvalReport(added: boolean, st: StageState, batchId: number): void {
  if (!added) throw new ProtocolError('bad-batch', `stage:eval for batch ${batchId}: stage ${st.index} reported this batch already`);
}

/** A checkpoint is at most twice the bound of the stage's modules' state. */
export function checkCheckpointSize(msg: StageCheckpoint, model: JobModel, st: StageState): void {
  checkPayloadSize(EVENTS.stageCheckpoint, msg, checkpointBytesBound(model, st.firstModule, st.lastModule) * 2);
}
