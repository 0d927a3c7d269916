import { afterEach, describe, expect, it } from 'vitest';
import type { StageAssign } from '../../protocol/index.js';
import { api, joinDevice, runCleanups, smallJob, startTestCoordinator, waitFor, waitForStatus } from './helpers.js';
import { shapeDevice, type ShapeDevice } from './shape-device.js';

afterEach(runCleanups);

describe('faults', () => {
  it('pauses when a stage device disconnects and resumes on a new device, every stage from the newest checkpoint all stages have', async () => {
    const c = await startTestCoordinator();
    // Whichever device the planner puts on the last stage dies after acknowledging 5 batches.
    const onAssign = (a: StageAssign, d: ShapeDevice): void => {
      if (a.stage === 1) d.stopAfter = 5;
    };
    const devices = [await shapeDevice(c.url, { name: 'a', delayMs: 5, onAssign }), await shapeDevice(c.url, { name: 'b', delayMs: 5, onAssign })];
    const id = ((await api(c, 'POST', '/api/jobs', { token: c.adminToken, body: smallJob({ limitTrain: 160, limitTest: 32, checkpointEvery: 3 }) })).body as { id: string }).id;
    const paused = await waitForStatus(c, id, ['paused', 'done']);
    expect(paused.status).toBe('paused');
    const dead = devices.find((d) => d.deviceId === paused.plan[1]!.deviceId)!;
    expect(dead.socket.connected).toBe(false);
    const deadStage = 1;
    expect(paused.waitingFor).toMatch(/idle device/);

    const spare = await shapeDevice(c.url, { name: 'spare' });
    const done = await waitForStatus(c, id, ['done']);
    expect(done.plan[deadStage]!.deviceId).toBe(spare.deviceId);
    const assign = spare.assigns[0]!;
    expect(assign.stage).toBe(deadStage);
    // Last stored checkpoint of that stage (checkpointEvery 3: after step 2).
    expect(new Uint8Array(assign.checkpoint!)).toEqual(new Uint8Array(dead.checkpoints.at(-1)!));
    // The last stage acknowledged steps 0..4, but the newest step both stages have a checkpoint of is 3: feeding resumes there.
    expect(assign.step).toBe(3);
    expect(spare.inputs[0]!.step).toBe(3);
    expect(done.epochs).toHaveLength(1);
    // The surviving stage went back to step 3 too: re-assigned with its own checkpoint of it.
    const survivor = devices.find((d) => d !== dead)!;
    expect(survivor.assigns).toHaveLength(2);
    expect(survivor.assigns[1]).toMatchObject({ stage: 0, step: 3 });
    expect(new Uint8Array(survivor.assigns[1]!.checkpoint!)).toEqual(new Uint8Array(survivor.checkpoints[0]!));
    for (const d of [...devices, spare]) expect(d.maxInFlight).toBeLessThanOrEqual(2);
    const devicesNow = (await api(c, 'GET', '/api/devices')).body as Array<{ id: string; status: string }>;
    expect(devicesNow.find((d) => d.id === dead.deviceId)?.status).toBe('lost');
    expect(devicesNow.find((d) => d.id === spare.deviceId)?.status).toBe('idle');
  });

  it('marks a device lost after 3 missed heartbeats and disconnects it', async () => {
    const c = await startTestCoordinator({ heartbeatMs: 200 });
    const silent = await joinDevice(c.url, { alive: false });
    await waitFor(async () => ((await api(c, 'GET', '/api/devices')).body as Array<{ status: string }>)[0]?.status === 'lost', 'the silent device to be lost', 5000);
    await waitFor(() => !silent.socket.connected, 'the silent device to be disconnected', 2000);
  });
});
