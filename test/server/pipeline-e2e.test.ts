import { Unpackr } from 'msgpackr';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GllNetwork } from '../../engine/model/network.js';
import { getDataset, modelConfigFor, type TrainCommandOptions } from '../../cli/train-command.js';
import { loadModel, saveModel } from '../../engine/train/checkpoint.js';
import { InProcessTrainer } from '../../engine/train/gll-trainer.js';
import { useTestBackend } from '../helpers/backend.js';
import { api, getJob, runCleanups, startTestCoordinator, waitForStatus } from './helpers.js';
import { stageRunnerDevice } from './stage-runner-device.js';

beforeAll(useTestBackend);
afterEach(runCleanups);

describe('pipeline, end to end with StageRunner devices', () => {
  it('trains resnet20 K=2 across two devices to done, with evaluation, checkpoints and a model file', async () => {
    // Training blocks this one event loop for a while: give heartbeats room.
    const c = await startTestCoordinator({ heartbeatMs: 5000 });
    const a = await stageRunnerDevice(c.url, { name: 'a' });
    const b = await stageRunnerDevice(c.url, { name: 'b' });
    const created = await api(c, 'POST', '/api/jobs', {
      token: c.adminToken,
      body: { model: 'resnet20', modules: 2, dataset: 'synthetic', limitTrain: 64, limitTest: 32, batchSize: 16, epochs: 1, minDevices: 2 },
    });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;

    const done = await waitForStatus(c, id, ['done'], 50_000);
    expect(a.failure).toBeNull();
    expect(b.failure).toBeNull();
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);

    expect(done.plan.map((p) => [p.firstModule, p.lastModule])).toEqual([[0, 0], [1, 1]]);
    expect(new Set(done.plan.map((p) => p.deviceId))).toEqual(new Set([a.deviceId, b.deviceId]));
    for (const p of done.plan) {
      expect(p.estimatedMsPerBatch).toBeGreaterThan(0);
      expect(p.measuredMsPerBatch).toBeGreaterThan(0);
    }
    expect(done.epochs).toHaveLength(1);
    const epoch = done.epochs[0]!;
    expect(epoch.moduleErrors).toHaveLength(1);
    expect(epoch.testError).toBeGreaterThanOrEqual(0);
    expect(epoch.testError).toBeLessThanOrEqual(100);
    // 4 train batches + 2 eval batches through each stage.
    expect(a.batches + b.batches).toBe(12);
    expect(done.stages.map((s) => s.samples)).toEqual([64, 64]);
    // The relay forwards stage 0's tensors untouched: 96 batches' worth of float32 16x16x32 features and more.
    expect(done.stages[1]!.bytesIn).toBeGreaterThan(96 * 16 * 16 * 32 * 4);
    expect(done.stages[1]!.bytesIn).toBeLessThanOrEqual(done.stages[0]!.bytesOut);
    expect(done.progress).toMatchObject({ stepsDone: 4, totalSteps: 4 });

    const model = await api(c, 'GET', `/api/jobs/${id}/model`);
    expect(model.status).toBe(200);
    const net = loadModel(model.body as Uint8Array);
    expect(net.moduleCount).toBe(2);
    net.dispose();

    // Both devices are free again.
    const devices = (await api(c, 'GET', '/api/devices')).body as Array<{ status: string }>;
    expect(devices.map((d) => d.status)).toEqual(['idle', 'idle']);
    expect((await getJob(c, id)).status).toBe('done');
  });
});

type StoredParams = Record<string, { shape: number[]; bytes: Uint8Array }>;

function params(file: Uint8Array): StoredParams {
  return (new Unpackr({ useRecords: false }).unpack(file) as { params: StoredParams }).params;
}

function floats(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

describe('equivalence with the in-process trainer', () => {
  it('ends with the in-process trainer weights (credits 1, float32 wire)', async () => {
    const spec = { model: 'resnet20', modules: 2, context: 'E', dataset: 'synthetic', limitTrain: 48, limitTest: 16, batchSize: 16, epochs: 1, minDevices: 2, seed: 3, lr: 0.05 } as const;
    const c = await startTestCoordinator({ heartbeatMs: 5000, credits: 1 });
    await stageRunnerDevice(c.url, { name: 'a' });
    await stageRunnerDevice(c.url, { name: 'b' });
    const id = ((await api(c, 'POST', '/api/jobs', { token: c.adminToken, body: spec })).body as { id: string }).id;
    await waitForStatus(c, id, ['done'], 50_000);
    const distributed = (await api(c, 'GET', `/api/jobs/${id}/model`)).body as Uint8Array;

    const opts: TrainCommandOptions = { ...spec, head: '1c2f', loss: 'ce', decoder: false, partition: 'equal', json: false };
    const data = await getDataset(opts, () => undefined);
    const net = new GllNetwork(modelConfigFor(opts, data));
    const trainer = new InProcessTrainer(net, { epochs: 1, batchSize: spec.batchSize, lr: spec.lr, seed: spec.seed });
    await trainer.fit(data);
    const reference = saveModel(net);
    trainer.dispose();
    net.dispose();

    const got = params(distributed);
    const want = params(reference);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    let worst = 0;
    for (const [name, w] of Object.entries(want)) {
      const a = floats(got[name]!.bytes);
      const b = floats(w.bytes);
      expect(a.length, name).toBe(b.length);
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    }
    expect(worst).toBeLessThan(1e-5);
  });
});
