import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../../cli/export-command.js';
import { getDataset, type TrainCommandOptions } from '../../cli/train-command.js';
import type { TestImages } from '../../protocol/rest-messages.js';
import { errorPercent, toNchwUnit } from '../engine/export/onnx-reference.js';
import { useTestBackend } from '../helpers/backend.js';
import { api, cleanups, runCleanups, startTestCoordinator, waitForStatus } from './helpers.js';
import { stageRunnerDevice } from './stage-runner-device.js';

beforeAll(useTestBackend);
afterEach(runCleanups);

describe('GET /api/jobs/:id/test-images', () => {
  it("answers the first N test images of the job's data set as HWC bytes, and refuses a bad count", async () => {
    const c = await startTestCoordinator();
    const spec = { model: 'resnet20', modules: 2, dataset: 'synthetic', limitTrain: 32, limitTest: 8, seed: 2 } as const;
    const id = ((await api(c, 'POST', '/api/jobs', { token: c.adminToken, body: spec })).body as { id: string }).id;
    const res = await api(c, 'GET', `/api/jobs/${id}/test-images?count=3`);
    expect(res.status).toBe(200);
    const set = res.body as TestImages;
    const opts: TrainCommandOptions = { ...spec, context: 'E', epochs: 1, batchSize: 16, lr: 0.1, head: '1c2f', loss: 'ce', decoder: false, partition: 'equal', json: false };
    const { test } = await getDataset(opts, () => undefined);
    expect([set.height, set.width, set.channels]).toEqual([32, 32, 3]);
    expect(set.labels).toEqual(Array.from(test.labels.subarray(0, 3)));
    expect(set.images.map((b) => Buffer.from(b, 'base64'))).toEqual([0, 1, 2].map((i) => Buffer.from(test.images.subarray(i * 3072, (i + 1) * 3072))));
    expect((await api(c, 'GET', `/api/jobs/${id}/test-images?count=0`)).status).toBe(400);
    expect((await api(c, 'GET', '/api/jobs/job-nope/test-images')).status).toBe(404);
  });
});

describe('GET /api/jobs/:id/model.onnx and contsup export', () => {
  it('a job trained at K = 4 with E gives the same test error through onnxruntime as the job reported', async () => {
    const spec = { model: 'resnet20', modules: 4, context: 'E', dataset: 'synthetic', limitTrain: 64, limitTest: 64, batchSize: 16, epochs: 1, minDevices: 2, seed: 4, lr: 0.05 } as const;
    const c = await startTestCoordinator({ heartbeatMs: 5000 });
    await stageRunnerDevice(c.url, { name: 'a' });
    await stageRunnerDevice(c.url, { name: 'b' });
    const id = ((await api(c, 'POST', '/api/jobs', { token: c.adminToken, body: spec })).body as { id: string }).id;
    const done = await waitForStatus(c, id, ['done'], 90_000);
    const reported = done.epochs[0]!.testError;

    const res = await api(c, 'GET', `/api/jobs/${id}/model.onnx`);
    expect(res.status).toBe(200);
    const onnx = res.body as Uint8Array;
    // The CLI writes the same file, from the coordinator or from the downloaded model file. HTTP first:
    // the heavy work below blocks this process's event loop, the coordinator's too, past keep-alive timeouts.
    const dir = mkdtempSync(join(tmpdir(), 'contsup-export-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const model = (await api(c, 'GET', `/api/jobs/${id}/model`)).body as Uint8Array;
    writeFileSync(join(dir, 'net.contsup-model'), model);
    await runExport({ job: id, url: c.url, format: 'onnx', output: join(dir, 'job.onnx') });
    expect(new Uint8Array(readFileSync(join(dir, 'job.onnx')))).toEqual(onnx);
    await runExport({ model: join(dir, 'net.contsup-model'), dataset: 'synthetic', url: c.url, format: 'onnx', output: join(dir, 'file.onnx') });
    expect(new Uint8Array(readFileSync(join(dir, 'file.onnx')))).toEqual(onnx);

    const opts: TrainCommandOptions = { ...spec, head: '1c2f', loss: 'ce', decoder: false, partition: 'equal', json: false };
    const { test } = await getDataset(opts, () => undefined);
    expect(test.count).toBe(64);
    const session = await ort.InferenceSession.create(onnx);
    const out = await session.run({ image: new ort.Tensor('float32', toNchwUnit(test), [64, 3, 32, 32]) });
    await session.release();
    expect(errorPercent(out.logits.data as Float32Array, test.labels, 10)).toBe(reported);
  });

  it('answers 404 for an unknown job and 409 for a job with no model yet, and the CLI says why', async () => {
    const c = await startTestCoordinator();
    const missing = await api(c, 'GET', '/api/jobs/job-nope/model.onnx');
    expect(missing.status).toBe(404);
    const id = ((await api(c, 'POST', '/api/jobs', { token: c.adminToken, body: { model: 'resnet20', modules: 2 } })).body as { id: string }).id;
    const waiting = await api(c, 'GET', `/api/jobs/${id}/model.onnx`);
    expect(waiting.status).toBe(409);
    expect((waiting.body as { message: string }).message).toMatch(/has not started; there is no model yet/);
    await expect(runExport({ job: id, url: c.url, format: 'onnx', output: join(tmpdir(), 'never-written.onnx') })).rejects.toThrow(/answered 409: job .* has not started/);
  });
});
