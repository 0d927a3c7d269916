import { modelConfigForJob } from '../../engine/model/job-config.js';
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
  /** A (bad) output to send before the correct one, to misbehave. */
  sendFirst?: (out: StageOutput, input: StageInput) => StageOutput | undefined;
  /** The checkpoint bytes to send when asked (default: 1 KiB of a fixed pattern). */
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
}

/**
 * A device that follows the protocol exactly but computes nothing: it answers
 * each input with zero tensors of the right shapes, metrics/eval first,
 * checkpoints (random bytes) when asked. Validates every server message.
 */
export async function shapeDevice(url: string, opts: ShapeDeviceOptions = {}): Promise<ShapeDevice> {
  const joined = await joinDevice(url, opts);
  const dev: ShapeDevice = { ...joined, assigns: [], inputs: [], maxInFlight: 0, answered: 0, checkpoints: [], stopAfter: opts.stopAfter };
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
    socket.emit(EVENTS.stageReady, { jobId: msg.jobId, stage: msg.stage });
  });
  socket.on(EVENTS.stageInput, (msg) => {
    validateFromServer(EVENTS.stageInput, msg);
    dev.inputs.push(msg);
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
      const bad = opts.sendFirst?.(out, msg);
      if (bad) socket.emit(EVENTS.stageOutput, bad);
      socket.emit(EVENTS.stageOutput, out);
    }
    dev.answered++;
    if (msg.checkpointAfter) {
      const weights = opts.checkpoint?.(a, msg) ?? new Uint8Array(1024).map((_, i) => (i * 7 + msg.step) & 0xff);
      dev.checkpoints.push(weights);
      socket.emit(EVENTS.stageCheckpoint, { jobId: msg.jobId, stage: msg.stage, epoch: msg.epoch, step: msg.step, weights });
    }
  }
  return dev;
}
