import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { api, cleanups, runCleanups, waitFor, waitForStatus } from '../server/helpers.js';
import { dumpOutputs, exclusiveMachine, type JobDetailJson, spawnCoordinator, spawnDevice, storedSteps, waitForIdle } from './processes.js';

afterEach(runCleanups);

describe('the CLI acceptance flow', () => {
  it('contsup coordinator + two contsup device processes take a POSTed resnet32 K=4 job to done', async ({ onTestFailed }) => {
    await exclusiveMachine();
    const dataDir = mkdtempSync(join(tmpdir(), 'contsup-cli-'));
    cleanups.unshift(() => rmSync(dataDir, { recursive: true, force: true }));
    const { url, child: coordinator } = await spawnCoordinator({ dataDir, joinToken: 'J', adminToken: 'A' });
    const c = { url };
    // Equal, pinned speeds: the join-time probe swings several-fold when other work shares the
    // cores, and a device measured far faster may rightly get every module (a one-stage plan).
    const pinned = ['--speed-gflops', '5'];
    const devices = [spawnDevice(url, 'J', 'd1', pinned), spawnDevice(url, 'J', 'd2', pinned)];
    onTestFailed(() => console.error(dumpOutputs([coordinator, ...devices])));
    const joined = await waitForIdle(c, ['d1', 'd2']);

    // Mutations need the admin token.
    const body = { model: 'resnet32', modules: 4, context: 'E', dataset: 'synthetic', epochs: 1, batchSize: 32, limitTrain: 256, limitTest: 128 };
    expect((await api(c, 'POST', '/api/jobs', { body })).status).toBe(401);
    expect((await api(c, 'POST', '/api/jobs', { body, token: 'J' })).status).toBe(401);
    const created = await api(c, 'POST', '/api/jobs', { body, token: 'A' });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;

    const done = (await waitForStatus(c, id, ['done'], 80_000)) as JobDetailJson;
    expect(coordinator.output().split('\n').filter((l) => / lost: /.test(l))).toEqual([]);
    // The plan spans both devices, contiguous ranges over modules 0..3.
    expect(done.plan).toHaveLength(2);
    expect(new Set(done.plan.map((p) => p.deviceId))).toEqual(new Set([joined.get('d1')!.id, joined.get('d2')!.id]));
    expect(done.plan[0]!.firstModule).toBe(0);
    expect(done.plan[1]!.firstModule).toBe(done.plan[0]!.lastModule + 1);
    expect(done.plan[1]!.lastModule).toBe(3);
    expect(done.stages.map((s) => s.samples)).toEqual([256, 256]);
    // One epoch: the network's test error and the 3 local heads' errors.
    expect(done.epochs).toHaveLength(1);
    expect(done.epochs[0]!.testError).toBeGreaterThanOrEqual(0);
    expect(done.epochs[0]!.moduleErrors).toHaveLength(3);
    for (const e of done.epochs[0]!.moduleErrors) expect(e).toEqual(expect.any(Number));
    // The model of the finished job downloads.
    const model = await api(c, 'GET', `/api/jobs/${id}/model`);
    expect(model.status).toBe(200);
    expect((model.body as Uint8Array).byteLength).toBeGreaterThan(1000);

    // The coordinator shuts down cleanly on SIGTERM, leaving the history in its data dir.
    await coordinator.stop(10_000);
    expect(await coordinator.exited).toEqual({ code: 0, signal: null });
    expect(storedSteps(dataDir, id)).toHaveLength(8 * 4);
    // The devices notice and keep trying to reconnect rather than crash.
    await waitFor(() => devices.every((d) => /disconnected from the coordinator/.test(d.output())), 'the devices to notice', 10_000);
    for (const d of devices) expect(d.proc.exitCode, d.name).toBeNull();
  }, 300_000);
});
