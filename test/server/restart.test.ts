import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeFile, type ModelFile } from '../../engine/train/checkpoint-format.js';
import { api, cleanups, runCleanups, smallJob, startTestCoordinator, waitFor, waitForStatus, type JobJson } from './helpers.js';
import { shapeDevice } from './shape-device.js';

afterEach(runCleanups);

describe('restart', () => {
  it('keeps job history in SQLite across a restart, and a job that was waiting waits again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'contsup-restart-'));
    cleanups.unshift(() => rmSync(dataDir, { recursive: true, force: true }));

    const first = await startTestCoordinator({ dataDir });
    await shapeDevice(first.url, { name: 'a' });
    await shapeDevice(first.url, { name: 'b' });
    const doneId = ((await api(first, 'POST', '/api/jobs', { token: first.adminToken, body: smallJob({ epochs: 2 }) })).body as { id: string }).id;
    const done = await waitForStatus(first, doneId, ['done']);
    expect(done.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    const waitingId = ((await api(first, 'POST', '/api/jobs', { token: first.adminToken, body: smallJob({ minDevices: 5 }) })).body as { id: string }).id;
    await waitFor(async () => ((await api(first, 'GET', `/api/jobs/${waitingId}`)).body as JobJson).waitingFor?.includes('5 idle'), 'the second job to wait');
    const ckpts = readdirSync(join(dataDir, 'jobs', doneId));
    expect(ckpts.some((f) => /^stage-0-step-\d+\.ckpt$/.test(f))).toBe(true);
    expect(ckpts.some((f) => f.endsWith('.tmp'))).toBe(false);
    await first.close();

    const second = await startTestCoordinator({ dataDir });
    const list = (await api(second, 'GET', '/api/jobs')).body as JobJson[];
    expect(list.map((j) => [j.id, j.status])).toEqual([
      [doneId, 'done'],
      [waitingId, 'waiting'],
    ]);
    expect(list[1]!.error).toBeNull();
    await waitFor(async () => ((await api(second, 'GET', `/api/jobs/${waitingId}`)).body as JobJson).waitingFor?.includes('5 idle'), 'the second job to wait again');
    const old = (await api(second, 'GET', `/api/jobs/${doneId}`)).body as JobJson;
    expect(old.epochs).toEqual(done.epochs.map((e) => ({ ...e })));
    expect(old.plan.map((p) => [p.firstModule, p.lastModule])).toEqual([[0, 0], [1, 1]]);
    expect(existsSync(join(dataDir, 'contsup.db'))).toBe(true);
    // The checkpoints survive the restart: the model file is combined from them (shape devices send
    // files in the real layout, which the coordinator checks on receipt, with made-up tensors).
    const model = await api(second, 'GET', `/api/jobs/${doneId}/model`);
    expect(model.status).toBe(200);
    const file = decodeFile<ModelFile>(model.body as Uint8Array, 'contsup-model');
    expect(Object.keys(file.params).sort()).toEqual(['m0/fake/w', 'm1/fake/w']);
  });
});
