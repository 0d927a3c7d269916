import { modelConfigForJob } from '../../engine/model/job-config.js';
import { packr, type StageCheckpoint } from '../../engine/train/checkpoint-format.js';
import type { ModelConfig } from '../../engine/model/config.js';
import { cutAfter, shapeContract, type CutCrossing } from '../../engine/model/shape-contract.js';
import {
  EVENTS,
  encodeFrame,
  validateFromServer,
  type StageAssign,
  type StageInput,
  type StageOutput,
  type TensorFrame,
} from '../../protocol/index.js';
import { joinDevice, type JoinOptions, type JoinedDevice } from './helpers.js';

/**
 * A stage checkpoint in the real file layout (engine/train/checkpoint-format.ts)
 * that passes the coordinator's receipt checks, holding one small made-up
 * tensor per module (values depend on the step, so files differ).
 */
export function fakeCheckpoint(a: StageAssign, step: number): Uint8Array<ArrayBuffer> {
  const params: StageCheckpoint['params'] = {};
  for (let k = a.firstModule; k <= a.lastModule; k++) params[`m${k}/fake/w`] = { shape: [4], bytes: new Uint8Array(new Float32Array([k, step, 1, 2]).buffer) };
  const file: StageCheckpoint = { format: 'contsup-stage', version: 1, firstModule: a.firstModule, lastModule: a.lastModule, step, params, momentum: {} };
  return new Uint8Array(packr.pack(file));
}

/** The model config a device builds from `stage:assign`: the device's own mapping. */
export function modelConfigOf(a: StageAssign): ModelConfig {
  return modelConfigForJob(a.job, a.data);
}

/** What this stage's outputs carry: the shape contract's cut after its last module. */
function outputShapes(a: StageAssign): CutCrossing {
  return cutAfter(shapeContract(modelConfigOf(a)), a.lastModule, a.job.wire);
}

export interface ShapeDeviceOptions extends JoinOptions {
  /** Delay before answering each input, ms. */
  delayMs?: number;
  /** Disconnect right after answering this many inputs (a device dying mid-job). */
  stopAfter?: number;
  /** Called on each stage:assign, before stage:ready (e.g. to set `stopAfter` by stage). */
  onAssign?: (assign: StageAssign, dev: ShapeDevice) => void;
  /**
   * A device that cannot build the stage of this assign (checked after
   * onAssign): 'silent' never sends stage:ready, 'disconnect' drops the
   * connection; false builds it as usual.
   */
  buildFails?: (assign: StageAssign, dev: ShapeDevice) => 'silent' | 'disconnect' | false;
  /** A (bad) output to send before the correct one, to misbehave. */
  sendFirst?: (out: StageOutput, input: StageInput) => StageOutput | undefined;
  /** The checkpoint bytes to send when asked, for step input.step + 1 (default: fakeCheckpoint). */
  checkpoint?: (assign: StageAssign, input: StageInput) => Uint8Array<ArrayBuffer>;
}

export interface ShapeDevice extends JoinedDevice {
  assigns: StageAssign[];
  inputs: StageInput[];
  /** Most inputs this device held unanswered at once. */
  maxInFlight: number;
  /** stage:done / stage:output sent (count). */
  answered: number;
  checkpoints: Uint8Array[];
  stopAfter: number | undefined;
  /** Never answer inputs (a hung device that still beats); settable from onAssign. */
  silent: boolean;
  /** Answer each input with this many wrong-shape outputs instead of the right one. */
  badOutputs: number;
}

/**
 * A device that follows the protocol exactly but computes nothing: it answers
 * each input with zero tensors of the right shapes, metrics/eval first,
 * checkpoints (random bytes) when asked. Validates every server message.
 */
export async function shapeDevice(url: string, opts: ShapeDeviceOptions = {}): Promise<ShapeDevice> {
  const joined = await joinDevice(url, opts);
  const dev: ShapeDevice = { ...joined, assigns: [], inputs: [], maxInFlight: 0, answered: 0, checkpoints: [], stopAfter: opts.stopAfter, silent: false, badOutputs: 0 };
  const { socket } = joined;
  let assign: StageAssign | null = null;
  let shapes: CutCrossing | null = null;
  let pending = 0;
  let chain: Promise<void> = Promise.resolve();

  socket.on(EVENTS.stageAssign, (msg) => {
    validateFromServer(EVENTS.stageAssign, msg);
    dev.assigns.push(msg);
    assign = msg;
    shapes = outputShapes(msg);
    opts.onAssign?.(msg, dev);
    const fails = opts.buildFails?.(msg, dev) ?? false;
    if (fails === 'disconnect') socket.disconnect();
    if (fails) return;
    socket.emit(EVENTS.stageReady, { jobId: msg.jobId, stage: msg.stage });
  });
  socket.on(EVENTS.stageInput, (msg) => {
    validateFromServer(EVENTS.stageInput, msg);
    dev.inputs.push(msg);
    if (dev.silent) return;
    pending++;
    dev.maxInFlight = Math.max(dev.maxInFlight, pending);
    // Inputs are answered strictly in arrival order, as the protocol requires.
    chain = chain.then(async () => {
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (!socket.connected || !assign || !shapes) return;
      answer(assign, shapes, msg);
      pending--;
      if (dev.stopAfter !== undefined && dev.answered >= dev.stopAfter) socket.disconnect();
    });
  });

  function answer(a: StageAssign, s: CutCrossing, msg: StageInput): void {
    const n = msg.labels.shape[0]!;
    const modules = Array.from({ length: a.lastModule - a.firstModule + 1 }, (_, i) => ({ module: a.firstModule + i, loss: 1.5, correct: Math.floor(n / 2), count: n }));
    const head = { jobId: msg.jobId, stage: msg.stage, batchId: msg.batchId, phase: msg.phase };
    if (msg.phase === 'train') {
      socket.emit(EVENTS.stageMetrics, { jobId: msg.jobId, stage: msg.stage, batchId: msg.batchId, epoch: msg.epoch, step: msg.step, modules, samplesPerSec: 100, peakBytes: [] });
    }
    else socket.emit(EVENTS.stageEval, { jobId: msg.jobId, stage: msg.stage, batchId: msg.batchId, epoch: msg.epoch, modules });
    const last = a.lastModule === a.job.modules - 1;
    if (last) {
      socket.emit(EVENTS.stageDone, head);
    } else {
      const zeros = (shape: number[], dtype: TensorFrame['dtype']): TensorFrame =>
        dtype === 'uint8' ? encodeFrame(new Uint8Array(shape.reduce((p, d) => p * d, 1)), shape, 'uint8') : encodeFrame(new Float32Array(shape.reduce((p, d) => p * d, 1)), shape, dtype);
      const out: StageOutput = { ...head, epoch: msg.epoch, step: msg.step, labels: msg.labels, h: zeros([n, ...s.h.shape], s.h.dtype) };
      if (s.image) out.image = msg.image ?? msg.images!;
      if (s.history.length > 0) out.history = s.history.map((e) => zeros([n, ...e.shape], e.dtype));
      if (dev.badOutputs > 0) {
        // Self-consistent frames one channel too wide: refused by the stage's shape rules, not the schema.
        const wrong = [n, ...s.h.shape.slice(0, -1), s.h.shape.at(-1)! + 1];
        for (let i = 0; i < dev.badOutputs; i++) socket.emit(EVENTS.stageOutput, { ...out, h: zeros(wrong, s.h.dtype) });
        return;
      }
      const bad = opts.sendFirst?.(out, msg);
      if (bad) socket.emit(EVENTS.stageOutput, bad);
      socket.emit(EVENTS.stageOutput, out);
    }
    dev.answered++;
    if (msg.checkpointAfter) {
      // As a real stage does: the checkpoint is of the next step to train.
      const step = msg.step + 1;
      const weights = opts.checkpoint?.(a, msg) ?? fakeCheckpoint(a, step);
      dev.checkpoints.push(weights);
      socket.emit(EVENTS.stageCheckpoint, { jobId: msg.jobId, stage: msg.stage, epoch: msg.epoch, step, weights });
    }
  }
  return dev;
}
