import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobDetail, StageAssign } from '../../protocol/index.js';
import { cleanups, runCleanups, smallJob, waitFor, waitForStatus } from '../server/helpers.js';
import { fakeCheckpoint, shapeDevice, type ShapeDevice } from '../server/shape-device.js';
import { historyFaults, storedHistory } from '../server/step-history.js';
import { createJob, spawnCoordinator, storedCheckpoints, type CliCoordinator } from './processes.js';

afterEach(runCleanups);

const JOIN = 'join-secret';
const ADMIN = 'admin-secret';

/** GET /api/jobs/:id as the coordinator types it (events, per-stage fault counters). */
async function finished(c: { url: string }, id: string): Promise<JobDetail> {
  return (await waitForStatus(c, id, ['done'], 40_000)) as unknown as JobDetail;
}

async function coordinator(args: string[]): Promise<CliCoordinator & { dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'contsup-stage-faults-'));
  cleanups.unshift(() => rmSync(dataDir, { recursive: true, force: true }));
  return { ...(await spawnCoordinator({ dataDir, joinToken: JOIN, adminToken: ADMIN, args })), dataDir };
}

/** Three shape devices; the first to be assigned `stage` gets `misbehave`, the others behave. */
async function devices(url: string, stage: number, misbehave: (d: ShapeDevice) => void): Promise<ShapeDevice[]> {
  let picked = false;
  const onAssign = (a: StageAssign, d: ShapeDevice): void => {
    if (a.stage !== stage || picked) return;
    picked = true;
    misbehave(d);
  };
  const out: ShapeDevice[] = [];
  for (const name of ['a', 'b', 'spare']) out.push(await shapeDevice(url, { name, delayMs: 2, onAssign }));
  return out;
}

describe('stage faults against a coordinator process', () => {
  it('gives a silent stage to another device after its deadlines and ends the job done', async ({ onTestFailed }) => {
    const c = await coordinator(['--deadline-floor-ms', '500']);
    onTestFailed(() => console.error(c.child.output()));
    const devs = await devices(c.url, 1, (d) => (d.silent = true));
    const id = await createJob(c, ADMIN, smallJob({ limitTrain: 96, limitTest: 32 }));
    const done = await finished(c, id);
    const silent = devs.find((d) => d.silent)!;
    // The silent device was told why and let go; the stage ended on another device.
    await expect.poll(() => silent.errors.map((e) => e.code)).toContain('deadline-missed');
    expect(silent.socket.connected).toBe(false);
    expect(done.plan[1]!.deviceId).not.toBe(silent.deviceId);
    expect(done.events.filter((e) => e.code === 'deadline-missed' && e.deviceId === silent.deviceId).length).toBeGreaterThanOrEqual(2);
    expect(done.events.some((e) => e.code === 'stage-lost' && e.stage === 1)).toBe(true);
    expect(done.stages[1]!.samples).toBeGreaterThan(0);
    expect(c.child.output()).toMatch(/missed its deadline/);
  });

  it('gives a stage that only sends refused outputs to another device and ends the job done', async ({ onTestFailed }) => {
    // A long floor: only the refusals can end this stage in time.
    const c = await coordinator(['--deadline-floor-ms', '120000']);
    onTestFailed(() => console.error(c.child.output()));
    const devs = await devices(c.url, 0, (d) => (d.badOutputs = 3));
    const id = await createJob(c, ADMIN, smallJob({ limitTrain: 96, limitTest: 32 }));
    const done = await finished(c, id);
    const bad = devs.find((d) => d.badOutputs > 0)!;
    await expect.poll(() => bad.errors.map((e) => e.code)).toContain('refused-outputs');
    expect(bad.errors.filter((e) => e.code === 'bad-tensor').length).toBeGreaterThanOrEqual(1);
    expect(done.plan[0]!.deviceId).not.toBe(bad.deviceId);
    expect(done.events.some((e) => e.code === 'refused-outputs' && e.stage === 0)).toBe(true);
  });

  it('refuses a garbage checkpoint with a reason, never stores it, and ends the job done', async ({ onTestFailed }) => {
    const c = await coordinator([]);
    onTestFailed(() => console.error(c.child.output()));
    let garbageSent = false;
    const devs: ShapeDevice[] = [];
    for (const name of ['a', 'b']) {
      devs.push(
        await shapeDevice(c.url, {
          name,
          // The first checkpoint of stage 1 is 4 KiB of noise; later ones are valid files.
          checkpoint: (a, input) => {
            if (a.stage !== 1 || garbageSent) return fakeCheckpoint(a, input.step + 1);
            garbageSent = true;
            return new Uint8Array(4096).map((_, i) => (i * 31 + 7) & 0xff);
          },
        }),
      );
    }
    const id = await createJob(c, ADMIN, smallJob({ limitTrain: 96, limitTest: 32, checkpointEvery: 2 }));
    const done = await finished(c, id);
    const sender = devs.find((d) => d.deviceId === done.plan[1]!.deviceId)!;
    const refusal = sender.errors.find((e) => e.code === 'bad-checkpoint');
    expect(refusal?.message).toMatch(/stage:checkpoint of stage 1 at step 2: not a contsup-stage file/);
    expect(done.events.some((e) => e.code === 'bad-checkpoint' && e.stage === 1)).toBe(true);
    const rows = storedCheckpoints(c.dataDir, id).filter((r) => r.stage === 1);
    expect(rows.map((r) => r.step)).not.toContain(2);
    expect(rows.length).toBeGreaterThan(0);
  });

  it('falls back to the checkpoint before when the newest one is corrupt on disk', async ({ onTestFailed }) => {
    const c = await coordinator([]);
    onTestFailed(() => console.error(c.child.output()));
    // The device that gets stage 1 first dies after answering 5 batches (checkpoints of steps 2 and 4 stored).
    const onAssign = (a: StageAssign, d: ShapeDevice): void => {
      if (a.stage === 1 && d.assigns.length === 1) d.stopAfter = 5;
    };
    const devs = [await shapeDevice(c.url, { name: 'a', delayMs: 5, onAssign }), await shapeDevice(c.url, { name: 'b', delayMs: 5, onAssign })];
    const id = await createJob(c, ADMIN, smallJob({ limitTrain: 160, limitTest: 32, checkpointEvery: 2 }));
    const paused = await waitForStatus(c, id, ['paused'], 30_000);
    const dead = devs.find((d) => d.deviceId === paused.plan[1]!.deviceId)!;
    // The step-4 checkpoint came just before the device died: its write may still be finishing when the job pauses.
    const stage1 = (): ReturnType<typeof storedCheckpoints> => storedCheckpoints(c.dataDir, id).filter((r) => r.stage === 1);
    await waitFor(() => stage1().length >= 2, 'two stored checkpoints of stage 1', 10_000).catch(() => undefined);
    const rows = stage1().sort((x, y) => y.step - x.step);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    writeFileSync(rows[0]!.path, new Uint8Array(rows[0]!.bytes)); // same size, all zeros
    const spare = await shapeDevice(c.url, { name: 'spare' });
    const done = await finished(c, id);
    expect(done.plan[1]!.deviceId).toBe(spare.deviceId);
    const older = dead.checkpoints[dead.checkpoints.length - 2]!;
    expect(new Uint8Array(spare.assigns[0]!.checkpoint!)).toEqual(new Uint8Array(older));
    expect(done.events.find((e) => e.code === 'bad-checkpoint')?.message).toMatch(/cannot be used, falling back.*checksum/);
    // The whole pipeline went back to that older step: stage 0 too was restored from its checkpoint of it,
    // so no module missed a step or trained one twice.
    const from = rows[1]!.step;
    expect(spare.assigns[0]!.step).toBe(from);
    const survivor = devs.find((d) => d.deviceId === done.plan[0]!.deviceId)!;
    expect(survivor.assigns.at(-1)!.step).toBe(from);
    expect(survivor.assigns.at(-1)!.checkpoint).toBeDefined();
    for (const st of done.stages) {
      expect(st.missedSteps).toEqual([]);
      expect(st.repeatedSteps).toEqual([]);
      expect(st.trainedSteps).toBe(done.progress!.totalSteps);
    }
    expect(historyFaults(storedHistory(c.dataDir, id), 2, done.progress!.totalSteps)).toEqual([]);
  });
});
