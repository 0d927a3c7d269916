import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceView } from '../../protocol/rest-messages.js';
import { probeNodeAdapter } from '../../engine/backend/node-webgpu.js';
import { loadModel } from '../../engine/train/checkpoint.js';
import { useTestBackend } from '../helpers/backend.js';
import { api, cleanups, runCleanups, startTestCoordinator, waitForStatus } from '../server/helpers.js';
import { compareParams, trainReference } from './equivalence-reference.js';
import { dumpOutputs, exclusiveMachine, spawnCli, spawnDevice, waitForIdle, type JobDetailJson } from './processes.js';

// A `contsup device --backend webgpu` process (dawn.node; lavapipe in CI) beside a
// wasm one. Skipped, saying why, where dawn.node finds no adapter.

const reason = await probeNodeAdapter().then(
  () => null,
  (err: unknown) => (err instanceof Error ? err.message : String(err)),
);
if (reason !== null) console.warn(`webgpu device test skipped: ${reason}`);

beforeAll(useTestBackend);
afterEach(runCleanups);

describe.skipIf(reason !== null)('a webgpu device and a wasm device', () => {
  it('train resnet20 K=2 E to done, the webgpu device reports its adapter, and the weights match the in-process trainer', async ({ onTestFailed }) => {
    await exclusiveMachine();
    const spec = {
      model: 'resnet20', modules: 2, context: 'E', dataset: 'synthetic', limitTrain: 32, limitTest: 16, batchSize: 16, epochs: 1, minDevices: 2, seed: 7, lr: 0.05, wire: 'float32',
    } as const;
    // lavapipe is slow: a step of half a resnet20 takes seconds, so heartbeats get room.
    const c = await startTestCoordinator({ heartbeatMs: 20_000 });
    const devices = [
      spawnCli('gpu', ['device', '--url', c.url, '--token', c.joinToken, '--name', 'gpu', '--backend', 'webgpu']),
      spawnDevice(c.url, c.joinToken, 'cpu'),
    ];
    onTestFailed(() => console.error(`${dumpOutputs(devices)}\n--- coordinator ---\n${c.logs.join('\n')}`));
    await waitForIdle(c, ['gpu', 'cpu'], 120_000);
    const listed = (await api(c, 'GET', '/api/devices')).body as DeviceView[];
    const gpuDevice = listed.find((d) => d.name === 'gpu');
    expect(gpuDevice).toMatchObject({ kind: 'node', backend: 'webgpu' });
    expect(gpuDevice?.adapter).toMatch(/\S/);
    expect(listed.find((d) => d.name === 'cpu')).toMatchObject({ backend: 'wasm', adapter: null });
    expect(devices[0]!.output()).toMatch(/backend: webgpu \(/);

    const created = await api(c, 'POST', '/api/jobs', { token: c.adminToken, body: spec });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = (created.body as { id: string }).id;
    const done = (await waitForStatus(c, id, ['done'], 400_000)) as JobDetailJson;
    expect(done.plan).toHaveLength(2);
    expect(new Set(done.plan.map((p) => p.deviceId))).toEqual(new Set(listed.filter((d) => d.name === 'gpu' || d.name === 'cpu').map((d) => d.id)));
    const file = await api(c, 'GET', `/api/jobs/${id}/model`);
    expect(file.status).toBe(200);
    const distributed = loadModel(file.body as Uint8Array);
    cleanups.push(() => distributed.dispose());

    const reference = await trainReference(spec);
    const got = new Map(distributed.store.params.map((p) => [p.name, p.variable]));
    expect([...got.keys()].sort()).toEqual(reference.network.store.params.map((p) => p.name).sort());
    // compareParams reports a length mismatch as an infinite difference.
    const { worst, worstName } = compareParams(got, reference.network, false);
    // Two backends: float32 rounding differs (most in the BN shifts, which start at 0 and
    // move by sums over the batch), nothing more; a wrong gradient is off by far more.
    expect(worst, `largest difference in ${worstName}`).toBeLessThan(2e-4);
  }, 600_000);
});
