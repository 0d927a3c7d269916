import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { getJob, runCleanups, startTestCoordinator, waitFor, waitForStatus } from '../server/helpers.js';
import { historyFaults, storedHistory } from '../server/step-history.js';
import { type Child, createJob, dumpOutputs, exclusiveMachine, type JobDetailJson, listDevices, spawnDevice, storedCheckpoints, storedSteps, waitForIdle } from './processes.js';

afterEach(runCleanups);

describe('a device process killed mid-job', () => {
  it('pauses the job, resumes it on a new device process from the stored checkpoint, and keeps the history', async ({ onTestFailed }) => {
    await exclusiveMachine();
    const c = await startTestCoordinator();
    const devices: Child[] = [spawnDevice(c.url, c.joinToken, 'd1'), spawnDevice(c.url, c.joinToken, 'd2')];
    onTestFailed(() => console.error(`${dumpOutputs(devices)}\n--- coordinator ---\n${c.logs.join('\n')}`));
    await waitForIdle(c, ['d1', 'd2']);

    // 8 steps per epoch, 16 in all; a checkpoint every 2 steps and at each epoch's end.
    const id = await createJob(c, c.adminToken, {
      model: 'resnet20', modules: 2, context: 'E', dataset: 'synthetic', epochs: 2, batchSize: 32, limitTrain: 256, limitTest: 32, checkpointEvery: 2, minDevices: 2,
    });
    const victimStage = 0;
    const before = await waitFor(
      async () => {
        const j = (await getJob(c, id)) as JobDetailJson;
        if (j.status === 'failed' || j.status === 'done') throw new Error(`job ended as ${j.status} before the kill: ${j.error}`);
        const ok = j.status === 'running' && (j.progress?.stepsDone ?? 0) >= 3 && j.stages[victimStage]?.lastCheckpointStep != null;
        return ok ? j : undefined;
      },
      'a few steps and a checkpoint of stage 0',
      60_000,
      50,
    );
    const victimId = before.plan[victimStage]!.deviceId;
    const survivorId = before.plan[1 - victimStage]!.deviceId;
    const victim = devices.find((d) => d.name === before.plan[victimStage]!.deviceName)!;
    const stepsBefore = storedSteps(c.dataDir, id);
    const checkpointsBefore = storedCheckpoints(c.dataDir, id);
    victim.proc.kill('SIGKILL');
    expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(checkpointsBefore.some((r) => r.stage === victimStage)).toBe(true);
    expect(stepsBefore.length).toBeGreaterThan(0);

    const paused = (await waitForStatus(c, id, ['paused'], 20_000)) as JobDetailJson;
    expect(paused.waitingFor).toMatch(/idle device/);
    expect(paused.stages[victimStage]!.lost).toBe(true);
    expect(paused.stages[1 - victimStage]!.lost).toBe(false);
    // The fault deleted nothing: the lost stage's checkpoints (rows and files) and every step row from
    // before the kill are still there. (The survivor may have stored one more meanwhile, and only the
    // newest 3 per stage are kept, so its older ones may go by design.)
    const checkpointsPaused = storedCheckpoints(c.dataDir, id);
    expect(checkpointsPaused).toEqual(expect.arrayContaining(checkpointsBefore.filter((r) => r.stage === victimStage)));
    for (const r of checkpointsPaused) expect(existsSync(r.path), r.path).toBe(true);
    expect(storedSteps(c.dataDir, id).slice(0, stepsBefore.length)).toEqual(stepsBefore);
    // It stays paused while no device is free.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await getJob(c, id)).status).toBe('paused');
    // What every stage must resume from: the newest step both have a checkpoint of (none is kept while paused).
    const stepsOf = (stage: number): number[] => checkpointsPaused.filter((r) => r.stage === stage).map((r) => r.step);
    const resumeFrom = Math.max(...stepsOf(victimStage).filter((s) => stepsOf(1 - victimStage).includes(s)));

    const spare = spawnDevice(c.url, c.joinToken, 'd3');
    devices.push(spare);
    const running = await waitForStatus(c, id, ['running', 'done'], 60_000);
    expect(running.status).toBe('running');
    const done = (await waitForStatus(c, id, ['done'], 120_000)) as JobDetailJson;

    const spareId = (await waitForIdle(c, ['d3'], 10_000)).get('d3')!.id;
    expect(done.plan[victimStage]!.deviceId).toBe(spareId);
    expect(done.plan[1 - victimStage]!.deviceId).toBe(survivorId);
    expect(spareId).not.toBe(victimId);
    expect(c.logs.some((l) => l.includes(`job ${id}: stage ${victimStage} -> device ${spareId} from checkpoint step ${resumeFrom}`))).toBe(true);
    expect(c.logs.some((l) => l.includes(`job ${id}: stage ${1 - victimStage} -> device ${survivorId} from checkpoint step ${resumeFrom}`))).toBe(true);
    expect(done.progress).toMatchObject({ stepsDone: 16, totalSteps: 16 });
    expect(done.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    for (const e of done.epochs) {
      expect(e.testError).not.toBeNull();
      expect(e.moduleErrors).toHaveLength(1);
    }

    // History after the job: the step rows from before the kill unchanged, every step of both epochs recorded for both modules.
    const stepsAfter = storedSteps(c.dataDir, id);
    expect(stepsAfter.slice(0, stepsBefore.length)).toEqual(stepsBefore);
    for (const module of [0, 1]) {
      expect(new Set(stepsAfter.filter((r) => r.module === module).map((r) => r.step)), `module ${module}`).toEqual(new Set(Array.from({ length: 16 }, (_, i) => i)));
    }
    // The step history: after the rollback, every module trained every step exactly once.
    expect(historyFaults(storedHistory(c.dataDir, id), 2, 16)).toEqual([]);
    // Each stage's final checkpoint (after step 15) is on disk.
    const checkpointsAfter = storedCheckpoints(c.dataDir, id);
    for (const stage of [0, 1]) {
      const rows = checkpointsAfter.filter((r) => r.stage === stage);
      expect(Math.max(...rows.map((r) => r.step)), `stage ${stage}`).toBe(16);
      for (const r of rows) expect(existsSync(r.path), r.path).toBe(true);
    }
    // The survivor and the spare are free again; the killed device is lost.
    const status = new Map((await listDevices(c)).map((d) => [d.id, d.status]));
    expect(status.get(victimId)).toBe('lost');
    expect(status.get(survivorId)).toBe('idle');
    expect(status.get(spareId)).toBe('idle');
  }, 300_000);
});
