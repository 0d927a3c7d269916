import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobDetail, StageAssign } from '../../protocol/index.js';
import { api, cleanups, runCleanups, smallJob, startTestCoordinator, waitFor, waitForStatus } from './helpers.js';
import { shapeDevice, type ShapeDevice } from './shape-device.js';
import { historyFaults, storedHistory } from './step-history.js';

afterEach(runCleanups);

async function detail(c: { url: string }, id: string): Promise<JobDetail> {
  return (await api(c, 'GET', `/api/jobs/${id}`)).body as JobDetail;
}

async function create(c: { url: string; adminToken: string }, body: Record<string, unknown>): Promise<string> {
  const res = await api(c, 'POST', '/api/jobs', { token: c.adminToken, body });
  expect(res.status).toBe(201);
  return (res.body as { id: string }).id;
}

describe('consistent recovery', () => {
  it('rolls every stage back to the newest step all of them have a checkpoint of, so every module trains every step once', async () => {
    const c = await startTestCoordinator();
    // The device that gets stage 1 first leaves after answering 5 batches (checkpoints of steps 2 and 4 stored).
    const onAssign = (a: StageAssign, d: ShapeDevice): void => {
      if (a.stage === 1 && d.assigns.length === 1) d.stopAfter = 5;
    };
    const devs = [await shapeDevice(c.url, { name: 'a', delayMs: 5, onAssign }), await shapeDevice(c.url, { name: 'b', delayMs: 5, onAssign })];
    const id = await create(c, smallJob({ limitTrain: 160, limitTest: 32, checkpointEvery: 2 }));
    const paused = await waitForStatus(c, id, ['paused'], 30_000);
    const survivor = devs.find((d) => d.deviceId === paused.plan[0]!.deviceId)!;
    expect(paused.waitingFor).toMatch(/idle device for stage\(s\) 1/);
    const spare = await shapeDevice(c.url, { name: 'spare', delayMs: 5 });
    const done = (await waitForStatus(c, id, ['done'], 30_000)) as unknown as JobDetail;

    // Both stages restarted from the same step: the survivor too got a new assignment with its checkpoint of it.
    const restored = spare.assigns[0]!;
    expect(restored.step).toBe(4);
    expect(restored.checkpoint).toBeDefined();
    expect(survivor.assigns).toHaveLength(2);
    expect(survivor.assigns[1]!.step).toBe(restored.step);
    expect(survivor.assigns[1]!.checkpoint).toBeDefined();
    // Feeding resumed at that step: stage 0's inputs after the rollback start there.
    const after = survivor.inputs.filter((i) => i.phase === 'train').map((i) => i.step);
    const resumedAt = after.lastIndexOf(restored.step);
    expect(after.slice(resumedAt)).toEqual(Array.from({ length: 10 - restored.step }, (_, i) => restored.step + i));
    expect(done.events.some((e) => e.code === 'rolled-back' && e.message.includes(`step ${restored.step}`))).toBe(true);
    for (const st of done.stages) {
      expect(st.missedSteps).toEqual([]);
      expect(st.repeatedSteps).toEqual([]);
      expect(st.trainedSteps).toBe(10);
    }
    expect(historyFaults(storedHistory(c.dataDir, id), 2, 10)).toEqual([]);
  });

  it('restores every stage to step 0 with fresh weights when no step has a checkpoint of every stage', async () => {
    const c = await startTestCoordinator();
    const onAssign = (a: StageAssign, d: ShapeDevice): void => {
      if (a.stage === 1 && d.assigns.length === 1) d.stopAfter = 3;
    };
    const devs = [await shapeDevice(c.url, { name: 'a', delayMs: 5, onAssign }), await shapeDevice(c.url, { name: 'b', delayMs: 5, onAssign })];
    // No checkpoint before the end of the epoch.
    const id = await create(c, smallJob({ limitTrain: 160, limitTest: 32 }));
    await waitForStatus(c, id, ['paused'], 30_000);
    const spare = await shapeDevice(c.url, { name: 'spare', delayMs: 5 });
    await waitForStatus(c, id, ['done'], 30_000);
    expect(spare.assigns[0]!.step).toBe(0);
    expect(spare.assigns[0]!.checkpoint).toBeUndefined();
    const survivor = devs.find((d) => d.assigns.length === 2)!;
    expect(survivor.assigns[1]!).toMatchObject({ stage: 0, step: 0 });
    expect(survivor.assigns[1]!.checkpoint).toBeUndefined();
    expect(historyFaults(storedHistory(c.dataDir, id), 2, 10)).toEqual([]);
  });
});

describe('coordinator restart', () => {
  it('resumes a running job from the newest consistent checkpoint once enough devices rejoin, and ends it done with every step once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'contsup-resume-'));
    cleanups.unshift(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = await startTestCoordinator({ dataDir });
    await shapeDevice(first.url, { name: 'a', delayMs: 20 });
    await shapeDevice(first.url, { name: 'b', delayMs: 20 });
    // 10 steps per epoch, 20 in all; checkpoints after steps 2, 5, 8 ... and at each epoch's end.
    const id = await create(first, smallJob({ limitTrain: 160, limitTest: 32, epochs: 2, checkpointEvery: 3 }));
    await waitFor(async () => ((await detail(first, id)).progress?.stepsDone ?? 0) >= 12, 'some steps of epoch 2', 30_000, 20);
    await first.close();

    const second = await startTestCoordinator({ dataDir });
    const paused = await waitFor(async () => {
      const j = await detail(second, id);
      return j.status === 'paused' ? j : undefined;
    }, 'the job to be paused after the restart');
    expect(paused.waitingFor).toBe('2 device(s) (coordinator restarted)');
    expect(paused.events.some((e) => e.code === 'coordinator-restarted')).toBe(true);
    const one = await shapeDevice(second.url, { name: 'c', delayMs: 5 });
    await waitFor(async () => (await detail(second, id)).waitingFor === '1 device(s) (coordinator restarted)', 'one more device');
    const two = await shapeDevice(second.url, { name: 'd', delayMs: 5 });
    const done = (await waitForStatus(second, id, ['done'], 30_000)) as unknown as JobDetail;

    const from = [one.assigns[0]!, two.assigns[0]!];
    expect(from[0]!.step).toBe(from[1]!.step);
    expect(from[0]!.step).toBeGreaterThanOrEqual(10);
    for (const a of from) expect(a.checkpoint).toBeDefined();
    expect(done.progress).toMatchObject({ stepsDone: 20, totalSteps: 20 });
    expect(done.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(historyFaults(storedHistory(dataDir, id), 2, 20)).toEqual([]);
  });

  it('fails a job it cannot resume, with the reason', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'contsup-resume-'));
    const folder = mkdtempSync(join(tmpdir(), 'contsup-resume-data-'));
    cleanups.unshift(() => rmSync(dataDir, { recursive: true, force: true }));
    cleanups.unshift(() => rmSync(folder, { recursive: true, force: true }));
    const first = await startTestCoordinator({ dataDir });
    await shapeDevice(first.url, { name: 'a', delayMs: 20 });
    await shapeDevice(first.url, { name: 'b', delayMs: 20 });
    const id = await create(first, smallJob({ limitTrain: 160, limitTest: 32, epochs: 3, checkpointEvery: 2 }));
    await waitFor(async () => ((await detail(first, id)).progress?.stepsDone ?? 0) >= 3, 'a few steps', 30_000, 20);
    await first.close();
    // The stored plan no longer fits the network: this job's stages cannot be rebuilt.
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(join(dataDir, 'contsup.db'));
    db.prepare('UPDATE jobs SET plan = ? WHERE id = ?').run(JSON.stringify([{ stage: 0, deviceId: 'x', deviceName: 'x', firstModule: 0, lastModule: 0, estimatedMsPerBatch: 1, measuredMsPerBatch: null }]), id);
    db.close();

    const second = await startTestCoordinator({ dataDir });
    const failed = await waitForStatus(second, id, ['failed'], 10_000);
    expect(failed.error).toMatch(/cannot resume after the coordinator restarted: the stored plan does not cover modules 0\.\.1/);
  });
});
