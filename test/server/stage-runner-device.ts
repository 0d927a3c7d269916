import * as tf from '@tensorflow/tfjs-core';
import { augmentImages, normalizeImages, toUnitImages } from '../../engine/data/preprocess.js';
import { GllNetwork } from '../../engine/model/network.js';
import { prepareBatch } from '../../engine/train/batches.js';
import { loadStage, saveStage } from '../../engine/train/checkpoint.js';
import { StageRunner, disposeStageTensors, type StageTensors } from '../../engine/train/stage-runner.js';
import { EVENTS, decodeFrame, encodeFrame, validateFromServer, type StageAssign, type StageInput, type StageOutput } from '../../protocol/index.js';
import { joinDevice, type JoinOptions, type JoinedDevice } from './helpers.js';
import { modelConfigOf } from './shape-device.js';

export interface StageRunnerDevice extends JoinedDevice {
  /** Batches trained or evaluated. */
  batches: number;
  /** Error thrown while computing, if any (the test fails on it). */
  failure: Error | null;
}

interface Built {
  assign: StageAssign;
  net: GllNetwork;
  runner: StageRunner;
}

/**
 * A real device for tests: StageRunner does the work, exactly as a device
 * would, for contexts R0 and E (no R history). Inputs are processed one at a
 * time in arrival order; every server message is validated.
 */
export async function stageRunnerDevice(url: string, opts: JoinOptions = {}): Promise<StageRunnerDevice> {
  const joined = await joinDevice(url, opts);
  const dev: StageRunnerDevice = { ...joined, batches: 0, failure: null };
  const { socket } = joined;
  let built: Built | null = null;
  let chain: Promise<void> = Promise.resolve();

  const drop = (): void => {
    if (!built) return;
    built.runner.dispose();
    built.net.dispose();
    built = null;
  };
  socket.on(EVENTS.stageAssign, (msg) => {
    validateFromServer(EVENTS.stageAssign, msg);
    drop();
    const net = new GllNetwork(modelConfigOf(msg));
    const runner = new StageRunner(net, msg.firstModule, msg.lastModule);
    if (msg.checkpoint) loadStage(runner, msg.checkpoint);
    built = { assign: msg, net, runner };
    socket.emit(EVENTS.stageReady, { jobId: msg.jobId, stage: msg.stage });
  });
  socket.on(EVENTS.stageRelease, drop);
  socket.on(EVENTS.jobStop, drop);
  socket.on(EVENTS.stageInput, (msg) => {
    validateFromServer(EVENTS.stageInput, msg);
    chain = chain.then(async () => {
      if (!built || !socket.connected) return;
      try {
        await run(built, msg);
        dev.batches++;
      } catch (err: unknown) {
        dev.failure = err instanceof Error ? err : new Error(String(err));
      }
    });
  });

  async function run({ assign, net, runner }: Built, msg: StageInput): Promise<void> {
    const { height: H, width: W, channels: C, preprocess } = assign.data;
    const n = msg.labels.shape[0]!;
    const labels = Uint8Array.from(decodeFrame(msg.labels));
    const train = msg.phase === 'train';
    let image: Uint8Array | null;
    let input: StageTensors;
    let labelsT: tf.Tensor1D;
    let target: tf.Tensor4D | null;
    if (msg.stage === 0) {
      const raw = decodeFrame(msg.images!) as Uint8Array;
      image = train ? augmentImages(raw, n, H, W, C, preprocess, msg.augmentSeed!) : raw;
      const p = prepareBatch(net, image, labels, [H, W, C], preprocess);
      ({ input, labels: labelsT, target } = p);
    } else {
      image = msg.image ? (decodeFrame(msg.image) as Uint8Array) : null;
      const h = tf.tensor4d(decodeFrame(msg.h!) as Float32Array, msg.h!.shape as [number, number, number, number]);
      input = { h, image: image && net.mode.image ? normalizeImages(image, n, H, W, C, preprocess) : null, history: [] };
      labelsT = tf.tensor1d(Int32Array.from(labels), 'int32');
      target = image && assign.job.decoder ? toUnitImages(image, n, H, W, C) : null;
    }
    const result = train ? await runner.train(input, labelsT, target, msg.lr!) : await runner.evaluate(input, labelsT, target);
    const modules = result.metrics.map((m) => ({ module: m.module, loss: m.loss, correct: m.correct, count: m.count }));
    if (train) {
      socket.emit(EVENTS.stageMetrics, { jobId: msg.jobId, stage: msg.stage, batchId: msg.batchId, epoch: msg.epoch, step: msg.step, modules, samplesPerSec: 1, peakBytes: [] });
    } else {
      socket.emit(EVENTS.stageEval, { jobId: msg.jobId, stage: msg.stage, batchId: msg.batchId, epoch: msg.epoch, modules });
    }
    const head = { jobId: msg.jobId, stage: msg.stage, batchId: msg.batchId, phase: msg.phase };
    if (assign.lastModule === assign.job.modules - 1) {
      socket.emit(EVENTS.stageDone, head);
    } else {
      const out = result.output;
      const h = encodeFrame(out.h.dataSync() as Float32Array, [...out.h.shape], assign.job.wire);
      const message: StageOutput = { ...head, epoch: msg.epoch, step: msg.step, labels: msg.labels, h };
      if ((net.mode.image || assign.job.decoder) && image) message.image = encodeFrame(image, [n, H, W, C], 'uint8');
      socket.emit(EVENTS.stageOutput, message);
    }
    disposeStageTensors(result.output);
    disposeStageTensors(input);
    labelsT.dispose();
    target?.dispose();
    if (msg.checkpointAfter) {
      socket.emit(EVENTS.stageCheckpoint, { jobId: msg.jobId, stage: msg.stage, epoch: msg.epoch, step: msg.step, weights: saveStage(runner, msg.step) as Uint8Array<ArrayBuffer> });
    }
  }
  return dev;
}
