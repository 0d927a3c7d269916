/**
 * Stage fakes for the relay-capacity part of pipeline-bench: N Socket.IO
 * clients that join a coordinator and answer every `stage:input` at once
 * with zero tensors of the shapes their stage must send (the shape
 * contract), computing nothing, so the coordinator's relaying is all that
 * costs time. Run as a child process (its CPU is not the coordinator's):
 *
 *   node dist/bench/stage-fakes.js --url http://127.0.0.1:PORT --token T --count 2
 *
 * Fakes never send checkpoints: the bench times a window that ends before the
 * epoch's last batch (which asks for one) and then stops the job.
 */
import { io } from 'socket.io-client';
import { modelConfigForJob } from '../engine/model/job-config.js';
import { cutAfter, shapeContract, type CutCrossing } from '../engine/model/shape-contract.js';
import { EVENTS, encodeFrame, type StageAssign, type StageInput, type StageOutput, type TensorFrame } from '../protocol/index.js';
import { parser } from '../protocol/parser.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const url = arg('url', 'http://127.0.0.1:3000');
const token = arg('token', '');
const count = Number(arg('count', '2'));

/** Zero frames are made once per shape: the fake's own cost stays far below the coordinator's. */
const zeroCache = new Map<string, TensorFrame>();
function zeros(shape: number[], dtype: TensorFrame['dtype']): TensorFrame {
  const key = `${dtype}:${shape.join('x')}`;
  let f = zeroCache.get(key);
  if (!f) {
    const n = shape.reduce((p, d) => p * d, 1);
    f = dtype === 'uint8' ? encodeFrame(new Uint8Array(n), shape, 'uint8') : encodeFrame(new Float32Array(n), shape, dtype);
    zeroCache.set(key, f);
  }
  return f;
}

function fake(i: number): void {
  // Same transport and parser as real devices.
  const socket = io(url, { transports: ['websocket'], parser, forceNew: true, reconnection: false });
  let assign: StageAssign | null = null;
  let cut: CutCrossing | null = null;
  socket.on('connect', () => {
    socket.emit(EVENTS.deviceJoin, { protocolVersion: PROTOCOL_VERSION, token, name: `fake-${i + 1}`, kind: 'node', backend: 'cpu', memoryBytes: 8 * 2 ** 30, speedGflops: 10 });
  });
  socket.on(EVENTS.deviceWelcome, (w: { heartbeatMs: number }) => {
    setInterval(() => socket.emit(EVENTS.deviceHeartbeat, { sentAt: Date.now() }), w.heartbeatMs).unref();
  });
  socket.on(EVENTS.netProbe, (p: { probeId: number; payload: Uint8Array }) => socket.emit(EVENTS.netProbeAck, { probeId: p.probeId, receivedBytes: p.payload.byteLength }));
  socket.on(EVENTS.stageAssign, (a: StageAssign) => {
    assign = a;
    cut = cutAfter(shapeContract(modelConfigForJob(a.job, a.data)), a.lastModule, a.job.wire);
    socket.emit(EVENTS.stageReady, { jobId: a.jobId, stage: a.stage });
  });
  socket.on(EVENTS.stageInput, (msg: StageInput) => {
    if (!assign || !cut) return;
    const n = msg.labels.shape[0]!;
    const modules = Array.from({ length: assign.lastModule - assign.firstModule + 1 }, (_, k) => ({ module: assign!.firstModule + k, loss: 1, correct: 0, count: n }));
    const head = { jobId: msg.jobId, stage: msg.stage, batchId: msg.batchId, phase: msg.phase };
    if (msg.phase === 'train') socket.emit(EVENTS.stageMetrics, { ...head, epoch: msg.epoch, step: msg.step, modules, samplesPerSec: 1, peakBytes: [] });
    else socket.emit(EVENTS.stageEval, { jobId: msg.jobId, stage: msg.stage, batchId: msg.batchId, epoch: msg.epoch, modules });
    if (assign.lastModule === assign.job.modules - 1) {
      socket.emit(EVENTS.stageDone, head);
    } else {
      const out: StageOutput = { ...head, epoch: msg.epoch, step: msg.step, labels: msg.labels, h: zeros([n, ...cut.h.shape], cut.h.dtype) };
      if (cut.image) out.image = msg.image ?? msg.images!;
      if (cut.history.length > 0) out.history = cut.history.map((e) => zeros([n, ...e.shape], e.dtype));
      socket.emit(EVENTS.stageOutput, out);
    }
  });
  socket.on('disconnect', (why) => {
    process.stderr.write(`stage-fakes: fake-${i + 1} disconnected (${why})\n`);
    process.exit(1);
  });
}

for (let i = 0; i < count; i++) fake(i);
