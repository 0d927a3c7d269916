import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { preprocessFor } from '../../engine/data/dataset.js';
import { augmentImages } from '../../engine/data/preprocess.js';
import { DeviceRuntime } from '../../client/device-runtime.js';
import type { DeviceProblem, DeviceRuntimeOptions, DeviceStageInfo, DeviceStatus } from '../../client/device-types.js';
import { GllNetwork } from '../../engine/model/network.js';
import { disposePrepared, prepareBatch } from '../../engine/train/batches.js';
import { loadStage } from '../../engine/train/checkpoint.js';
import { StageRunner, disposeStageTensors } from '../../engine/train/stage-runner.js';
import type { StageInput, StageOutput } from '../../protocol/data-messages.js';
import type { DeviceJoin, NetProbeAck } from '../../protocol/device-messages.js';
import type { StageCheckpoint, StageMetrics } from '../../protocol/metrics-messages.js';
import type { StageAssign } from '../../protocol/stage-messages.js';
import { decodeFrame, encodeFrame } from '../../protocol/tensor-frame.js';
import { useTestBackend } from '../helpers/backend.js';
import { FakeCoordinator } from './fake-coordinator.js';
import { BATCH, SIZE, assignFor, images, job, labels, referenceConfig, stage0Input } from './fixtures.js';

beforeAll(useTestBackend);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Harness {
  device: DeviceRuntime;
  statuses: DeviceStatus[];
  stages: (DeviceStageInfo | null)[];
  problems: DeviceProblem[];
}

async function startDevice(url: string, extra: Partial<DeviceRuntimeOptions> = {}): Promise<Harness> {
  const h: Harness = { device: null as unknown as DeviceRuntime, statuses: [], stages: [], problems: [] };
  h.device = new DeviceRuntime({
    url,
    token: 'secret',
    name: 'test-device',
    kind: 'node',
    backend: 'wasm',
    memoryBytes: 2 ** 30,
    measureSpeed: () => 1.5,
    reconnectDelayMs: 100,
    reconnectDelayMaxMs: 400,
    onStatus: (s) => h.statuses.push(s),
    onStage: (s) => h.stages.push(s),
    onError: (p) => h.problems.push(p),
    ...extra,
  });
  cleanups.push(() => h.device.stop());
  await h.device.start();
  return h;
}

async function coordinator(port = 0): Promise<FakeCoordinator> {
  const c = await FakeCoordinator.start(port);
  cleanups.push(async () => {
    expect(c.violations).toEqual([]);
    await c.close();
  });
  return c;
}

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const byBatch = (id: number) => (m: { batchId: number }) => m.batchId === id;

describe('DeviceRuntime against a fake coordinator', () => {
  it('joins with its measured speed, answers probes and sends heartbeats', async () => {
    const coord = await coordinator();
    const { device } = await startDevice(coord.url, { measureSpeed: undefined });
    const join = await coord.waitFor<DeviceJoin>('device:join');
    expect(join).toMatchObject({ protocolVersion: 1, token: 'secret', name: 'test-device', kind: 'node', backend: 'wasm', memoryBytes: 2 ** 30 });
    // The default benchmark ran on the test backend.
    expect(join.speedGflops).toBeGreaterThan(0);
    await until(() => device.status.state === 'joined', 'joined');
    expect(device.status.deviceId).toBe('dev-1');

    coord.socket!.emit('net:probe', { probeId: 7, payload: new Uint8Array(256 * 1024) });
    expect(await coord.waitFor<NetProbeAck>('net:probe-ack')).toEqual({ probeId: 7, receivedBytes: 256 * 1024 });
    await until(() => coord.count('device:heartbeat') >= 3, 'three heartbeats');
    // Nothing but the join came before the welcome.
    expect(coord.events[0]!.event).toBe('device:join');
  });

  it('runs stage 0 of an E job like the in-process StageRunner, checkpoints on request, then serves as the last stage', async () => {
    const startTensors = tf.memory().numTensors;
    const coord = await coordinator();
    const h = await startDevice(coord.url);
    await coord.waitFor('device:join');
    const spec = job('E');

    coord.socket!.emit('stage:assign', assignFor(spec, 0, 0, 0));
    expect(await coord.waitFor('stage:ready')).toEqual({ jobId: 'job-1', stage: 0 });
    expect(h.device.stage).toMatchObject({ jobId: 'job-1', stage: 0, state: 'ready', resumedStep: null });

    coord.socket!.emit('stage:input', stage0Input(0, 0, { checkpointAfter: true }));
    const out = await coord.waitFor<StageOutput>('stage:output', byBatch(0));
    const metrics = await coord.waitFor<StageMetrics>('stage:metrics', byBatch(0));
    const ckpt = await coord.waitFor<StageCheckpoint>('stage:checkpoint');
    expect(coord.batchEvents(0)).toEqual(['stage:metrics', 'stage:output']);
    expect(coord.events.map((e) => e.event).filter((e) => e.startsWith('stage:') && e !== 'stage:ready')).toEqual(['stage:metrics', 'stage:output', 'stage:checkpoint']);

    // The same batch through an in-process StageRunner: bit-equal float32 h.
    const net = new GllNetwork(referenceConfig(spec));
    const runner = new StageRunner(net, 0, 0);
    const spec0 = preprocessFor('synthetic');
    const augmented = augmentImages(images(0), BATCH, SIZE, SIZE, 3, spec0, 1000);
    const b = prepareBatch(net, augmented, labels(0), [SIZE, SIZE, 3], spec0);
    const ref = await runner.train(b.input, b.labels, b.target, 0.05);
    const refH = ref.output.h.dataSync() as Float32Array;
    expect(out.h!.dtype).toBe('float32');
    expect(out.h!.shape).toEqual([BATCH, ...net.outputShape(0)]);
    expect(Buffer.from(decodeFrame(out.h!).buffer).equals(Buffer.from(refH.buffer))).toBe(true);
    expect(out.image!.dtype).toBe('uint8');
    expect(decodeFrame(out.image!)).toEqual(augmented);
    expect(metrics.modules[0]!.loss).toBe(ref.metrics[0]!.loss);
    disposeStageTensors(ref.output);
    disposePrepared(b);

    // The checkpoint is the reference's weights, at the next step.
    expect(ckpt).toMatchObject({ jobId: 'job-1', stage: 0, epoch: 1, step: 1 });
    const other = new StageRunner(new GllNetwork(referenceConfig(spec)), 0, 0);
    // tidy: loadStage leaks the restored momentum tensors (see StageHost.build).
    expect(tf.tidy(() => loadStage(other, ckpt.weights))).toBe(1);
    expect(other.net.moduleParams(0).map((p) => p.variable.dataSync())).toEqual(net.moduleParams(0).map((p) => p.variable.dataSync()));
    other.dispose();
    other.net.dispose();
    runner.dispose();

    // Re-planned: the same device now holds the last stage.
    const assign1: StageAssign = assignFor(spec, 1, 1, 1);
    expect(assign1.inputShape).toEqual(net.outputShape(0));
    coord.socket!.emit('stage:assign', assign1);
    expect(await coord.waitFor('stage:ready')).toEqual({ jobId: 'job-1', stage: 1 });
    expect(h.stages.map((s) => (s === null ? null : `${s.stage}:${s.state}`))).toEqual(['0:building', '0:ready', null, '1:building', '1:ready']);

    const input1 = (batchId: number, shape = net.outputShape(0)): StageInput => ({
      jobId: 'job-1', stage: 1, batchId, epoch: 1, step: batchId, phase: 'train', lr: 0.05,
      labels: encodeFrame(labels(0), [BATCH], 'uint8'),
      h: encodeFrame(Float32Array.from({ length: BATCH * shape[0] * shape[1] * shape[2] }, (_, i) => Math.sin(i + batchId)), [BATCH, ...shape], 'float32'),
      image: encodeFrame(images(0), [BATCH, SIZE, SIZE, 3], 'uint8'),
    });

    // A wrong h shape is refused and reported, the device carries on.
    coord.socket!.emit('stage:input', input1(10, [4, 4, 32]));
    await until(() => h.problems.length > 0, 'the refusal');
    expect(h.problems[0]).toMatchObject({ code: 'bad-tensor', event: 'stage:input', batchId: 10, fromCoordinator: false });
    expect(h.problems[0]!.message).toContain('tensor h has shape [8,4,4,32], stage 1 (modules 1..1) expects [8,8,8,32]');

    // Good inputs: stage:done each, and no tensor growth from one to the next.
    const counts: number[] = [];
    for (let id = 11; id <= 14; id++) {
      coord.socket!.emit('stage:input', input1(id));
      expect(await coord.waitFor('stage:done', byBatch(id))).toEqual({ jobId: 'job-1', stage: 1, batchId: id, phase: 'train' });
      await h.device.idle();
      counts.push(tf.memory().numTensors);
    }
    expect(coord.batchEvents(10)).toEqual([]);
    expect(coord.batchEvents(11)).toEqual(['stage:metrics', 'stage:done']);
    expect(coord.count('stage:output')).toBe(1);
    // The first step makes the momentum buffers; after that the count is flat.
    expect(new Set(counts.slice(1)).size).toBe(1);
    net.dispose();

    // A release frees the stage; inputs for it are then refused as not assigned.
    coord.socket!.emit('stage:release', { jobId: 'job-1', stage: 1 });
    await until(() => h.device.stage === null, 'the release');
    await h.device.idle();
    // Everything the device made is gone (the test disposed its own reference tensors above).
    expect(tf.memory().numTensors).toBe(startTensors);
    coord.socket!.emit('stage:input', input1(20));
    await until(() => h.problems.some((p) => p.code === 'not-assigned'), 'not-assigned');
  });

  it('forwards R1E context from stage 0: the augmented image and the uint8 history entry', async () => {
    const coord = await coordinator();
    await startDevice(coord.url);
    await coord.waitFor('device:join');
    const spec = job('R1E');
    coord.socket!.emit('stage:assign', assignFor(spec, 0, 0, 0));
    await coord.waitFor('stage:ready');
    coord.socket!.emit('stage:input', stage0Input(3, 4));
    const out = await coord.waitFor<StageOutput>('stage:output', byBatch(3));

    const net = new GllNetwork(referenceConfig(spec));
    const runner = new StageRunner(net, 0, 0);
    const spec0 = preprocessFor('synthetic');
    const augmented = augmentImages(images(4), BATCH, SIZE, SIZE, 3, spec0, 1003);
    const b = prepareBatch(net, augmented, labels(4), [SIZE, SIZE, 3], spec0);
    const ref = await runner.train(b.input, b.labels, b.target, 0.05);
    expect(Buffer.from(decodeFrame(out.h!).buffer).equals(Buffer.from((ref.output.h.dataSync() as Float32Array).buffer))).toBe(true);
    // R1 at the first cut: c_0 is the normalised image, so it travels as the uint8 image.
    expect(ref.output.history).toHaveLength(1);
    expect(out.history!.map((f) => [f.dtype, f.shape])).toEqual([['uint8', [BATCH, SIZE, SIZE, 3]]]);
    expect(decodeFrame(out.history![0]!)).toEqual(augmented);
    expect(decodeFrame(out.image!)).toEqual(augmented);
    disposeStageTensors(ref.output);
    disposePrepared(b);
    runner.dispose();
    net.dispose();
  });

  it('drops its stage when the coordinator goes away and re-joins when it is back on the same port', async () => {
    const first = await FakeCoordinator.start();
    const port = first.port;
    const h = await startDevice(first.url);
    await first.waitFor('device:join');
    first.socket!.emit('stage:assign', assignFor(job('E'), 0, 0, 0));
    await first.waitFor('stage:ready');

    await first.close();
    await until(() => h.device.status.state === 'reconnecting', 'reconnecting');
    await until(() => h.device.stage === null, 'the stage to be dropped');

    const second = await coordinator(port);
    const join = await second.waitFor<DeviceJoin>('device:join');
    expect(join.name).toBe('test-device');
    await until(() => h.device.status.state === 'joined', 'joined again');
    // The re-join is the first thing on the new connection, and the new coordinator owns the stage plan.
    expect(second.events[0]!.event).toBe('device:join');
    expect(h.device.stage).toBeNull();
    second.socket!.emit('stage:assign', assignFor(job('E'), 0, 0, 0));
    await second.waitFor('stage:ready');
    expect(first.violations).toEqual([]);
  });

  it('stops on a refused join instead of retrying', async () => {
    const coord = await coordinator();
    coord.refuseJoin = 'bad-token';
    const h = await startDevice(coord.url);
    await until(() => h.device.status.state === 'rejected', 'rejected');
    expect(h.problems[0]).toMatchObject({ code: 'bad-token', fromCoordinator: true });
    await new Promise((r) => setTimeout(r, 800));
    expect(coord.count('device:join')).toBe(1);
  });

  it('job:stop drops the stage of that job only', async () => {
    const coord = await coordinator();
    const h = await startDevice(coord.url);
    await coord.waitFor('device:join');
    coord.socket!.emit('stage:assign', assignFor(job('E'), 0, 0, 0));
    await coord.waitFor('stage:ready');
    coord.socket!.emit('job:stop', { jobId: 'other-job', reason: 'user' });
    coord.socket!.emit('job:stop', { jobId: 'job-1', reason: 'user' });
    await until(() => h.device.stage === null, 'the stop');
    expect(h.stages.at(-1)).toBeNull();
  });
});

