import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobDetail } from '../../protocol/index.js';
import { cleanups, getJob, runCleanups, waitFor, waitForStatus } from '../server/helpers.js';
import { historyFaults, storedHistory } from '../server/step-history.js';
import { type Child, createJob, dumpOutputs, exclusiveMachine, spawnCoordinator, spawnDevice, waitForIdle } from './processes.js';

afterEach(runCleanups);

const JOIN = 'join-secret';
const ADMIN = 'admin-secret';

function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'contsup-recovery-'));
  cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** 6 steps per epoch; a checkpoint after every second step (and at each epoch's end). */
function tinyJob(epochs: number): Record<string, unknown> {
  return { model: 'resnet20', modules: 2, context: 'E', dataset: 'synthetic', epochs, batchSize: 16, limitTrain: 96, limitTest: 32, checkpointEvery: 2, minDevices: 2 };
}

async function job(c: { url: string }, id: string): Promise<JobDetail> {
  return (await getJob(c, id)) as unknown as JobDetail;
}

/** Polls the job until `when` holds (fails fast if the job ends); returns that view. */
function until(c: { url: string }, id: string, what: string, when: (j: JobDetail) => boolean): Promise<JobDetail> {
  return waitFor(
    async () => {
      const j = await job(c, id);
      if (j.status === 'failed' || j.status === 'done') throw new Error(`job ended as ${j.status} before ${what}: ${j.error}`);
      return when(j) ? j : undefined;
    },
    what,
    120_000,
    25,
  );
}

describe('recovery against real processes', () => {
  it('after kill -9 of a device right after a checkpoint, mid-step and during evaluation, every module trains every step exactly once', async ({ onTestFailed }) => {
    await exclusiveMachine();
    const dataDir = freshDataDir();
    const c = await spawnCoordinator({ dataDir, joinToken: JOIN, adminToken: ADMIN });
    const devices: Child[] = [];
    let named = 0;
    const device = (): Child => {
      const d = spawnDevice(c.url, JOIN, `d${++named}`);
      devices.push(d);
      return d;
    };
    onTestFailed(() => console.error(`${dumpOutputs(devices)}\n--- coordinator ---\n${c.child.output().slice(-8000)}`));
    device();
    device();
    await waitForIdle(c, ['d1', 'd2']);
    // A spare is always idle, so each lost stage is re-assigned at once.
    device();
    const id = await createJob(c, ADMIN, tinyJob(3));
    await waitForIdle(c, ['d3']);

    const kill = async (j: JobDetail, stage: number): Promise<void> => {
      const victim = devices.find((d) => d.name === j.plan[stage]!.deviceName)!;
      victim.proc.kill('SIGKILL');
      expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
      const spare = device();
      await waitForIdle(c, [spare.name]);
    };
    const running = (j: JobDetail): boolean => j.status === 'running' && j.stages.every((s) => s.ready);
    // 1. Right after a checkpoint: the last stage's newest one has just been stored.
    const a = await until(c, id, 'a fresh checkpoint of stage 1', (j) => running(j) && j.progress?.phase === 'train' && (j.stages[1]!.lastCheckpointStep ?? 0) >= 2 && j.stages[1]!.lastCheckpointStep === j.progress.stepsDone);
    await kill(a, 1);
    // 2. Mid-step, between two checkpoints: an odd number of steps done, a batch in flight at stage 0.
    const b = await until(c, id, 'a step between checkpoints', (j) => running(j) && j.progress?.phase === 'train' && j.progress.stepsDone > a.progress!.stepsDone && j.progress.stepsDone % 2 === 1 && j.stages[0]!.inFlight > 0);
    await kill(b, 0);
    // 3. During an evaluation.
    const e = await until(c, id, 'an evaluation', (j) => running(j) && j.progress?.phase === 'eval' && j.progress.epoch >= b.progress!.epoch);
    await kill(e, 1);

    const done = (await waitForStatus(c, id, ['done'], 240_000)) as unknown as JobDetail;
    expect(done.progress).toMatchObject({ stepsDone: 18, totalSteps: 18 });
    expect(done.epochs.map((x) => x.epoch)).toEqual([1, 2, 3]);
    expect(done.events.filter((x) => x.code === 'stage-lost')).toHaveLength(3);
    expect(done.events.filter((x) => x.code === 'rolled-back').length).toBeGreaterThanOrEqual(3);
    for (const st of done.stages) {
      expect(st.missedSteps).toEqual([]);
      expect(st.repeatedSteps).toEqual([]);
    }
    expect(historyFaults(storedHistory(dataDir, id), 2, 18)).toEqual([]);
  }, 600_000);

  it('after kill -9 of the coordinator mid-job, a restart on the same data dir and port resumes the job with the rejoining devices and ends it done with every step once', async ({ onTestFailed }) => {
    await exclusiveMachine();
    const dataDir = freshDataDir();
    const first = await spawnCoordinator({ dataDir, joinToken: JOIN, adminToken: ADMIN });
    const port = new URL(first.url).port;
    const devices = [spawnDevice(first.url, JOIN, 'd1'), spawnDevice(first.url, JOIN, 'd2')];
    let second: Awaited<ReturnType<typeof spawnCoordinator>> | null = null;
    onTestFailed(() => console.error(`${dumpOutputs(devices)}\n--- first coordinator ---\n${first.child.output().slice(-6000)}\n--- second ---\n${second?.child.output().slice(-8000) ?? ''}`));
    await waitForIdle(first, ['d1', 'd2']);
    const id = await createJob(first, ADMIN, tinyJob(2));
    const before = await until(first, id, 'a few steps and a checkpoint of every stage', (j) => j.status === 'running' && (j.progress?.stepsDone ?? 0) >= 3 && j.stages.every((s) => (s.lastCheckpointStep ?? 0) >= 2));
    first.child.proc.kill('SIGKILL');
    expect(await first.child.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(before.progress!.stepsDone).toBeLessThan(12);

    second = await spawnCoordinator({ dataDir, joinToken: JOIN, adminToken: ADMIN, args: ['--port', port] });
    expect(second.url).toBe(first.url);
    // The same devices come back by themselves (their own reconnect backoff) and get the job again.
    const done = (await waitForStatus(second, id, ['done'], 240_000)) as unknown as JobDetail;
    expect(done.events.some((x) => x.code === 'coordinator-restarted')).toBe(true);
    const rolled = done.events.find((x) => x.code === 'rolled-back')!;
    expect(rolled.message).toMatch(/restored to step ([2-9]|1\d)\b/);
    expect(new Set(done.plan.map((p) => p.deviceName))).toEqual(new Set(['d1', 'd2']));
    expect(done.progress).toMatchObject({ stepsDone: 12, totalSteps: 12 });
    expect(done.epochs.map((x) => x.epoch)).toEqual([1, 2]);
    expect(historyFaults(storedHistory(dataDir, id), 2, 12)).toEqual([]);
  }, 600_000);
});
