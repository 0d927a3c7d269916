import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../engine/train/checkpoint.js';
import type { JobDetail } from '../../protocol/index.js';
import { useTestBackend } from '../helpers/backend.js';
import { api, cleanups, getJob, runCleanups, startTestCoordinator, waitFor } from '../server/helpers.js';
import { compareParams, trainReference } from './equivalence-reference.js';
import { createJob, dumpOutputs, exclusiveMachine, spawnDevice, waitForIdle } from './processes.js';

beforeAll(useTestBackend);
afterEach(runCleanups);

describe('re-planning from measured stage times', () => {
  it('moves modules away from a slowed device mid-job; every step trains once and the moved weights continue', async ({ onTestFailed }) => {
    await exclusiveMachine();
    const spec = {
      model: 'resnet20', modules: 4, context: 'E', dataset: 'synthetic', limitTrain: 256, limitTest: 16, batchSize: 8, epochs: 1, minDevices: 2, seed: 3, lr: 0.05, wire: 'float32',
    } as const;
    // One batch in flight: the distributed run must then end with the in-process trainer's weights.
    const c = await startTestCoordinator({ credits: 1 });
    // The join-time speeds mislead the planner (as a noisy probe does): d1 claims 4x d2's speed and gets
    // most modules, but sleeps 300 ms per module per step in its stage worker, so it is the bottleneck.
    const devices = [
      spawnDevice(c.url, c.joinToken, 'd1', ['--slow-step-ms', '300', '--speed-gflops', '20']),
      spawnDevice(c.url, c.joinToken, 'd2', ['--speed-gflops', '5']),
    ];
    onTestFailed(() => console.error(`${dumpOutputs(devices)}\n--- coordinator ---\n${c.logs.join('\n')}`));
    const joined = await waitForIdle(c, ['d1', 'd2']);
    const slowId = joined.get('d1')!.id;
    const id = await createJob(c, c.adminToken, spec);
    const done = (await waitFor(
      async () => {
        const job = await getJob(c, id);
        if (job.status === 'failed' || job.status === 'paused') throw new Error(`job ${job.status}: ${job.error ?? ''}`);
        return job.status === 'done' ? job : undefined;
      },
      'the job to be done',
      240_000,
      200,
    )) as unknown as JobDetail;

    // Moved within a few dozen batches, away from the slowed device.
    expect(done.replans.length).toBeGreaterThanOrEqual(1);
    const first = done.replans[0]!;
    expect(first.step).toBeLessThanOrEqual(36);
    const slowStage = done.plan.findIndex((p) => p.deviceId === slowId);
    const held = (r: { firstModule: number; lastModule: number }): number => r.lastModule - r.firstModule + 1;
    expect(held(first.to[slowStage]!)).toBeLessThan(held(first.from[slowStage]!));
    expect(first.reason).toMatch(/slowest\/fastest/);
    expect(c.logs.some((l) => l.includes(`re-planned at step ${first.step}`))).toBe(true);
    // The rebuilt stages loaded the hand-over checkpoint.
    expect(dumpOutputs(devices)).toContain(`checkpoint of step ${first.step}`);

    // Every step trained exactly once by every stage.
    const total = done.progress!.totalSteps;
    expect(done.progress!.stepsDone).toBe(total);
    for (const s of done.stages) {
      expect(s.trainedSteps, `stage ${s.stage}`).toBe(total);
      expect(s.missedSteps).toEqual([]);
      expect(s.repeatedSteps).toEqual([]);
    }

    // The weights equal the in-process trainer's: the moved modules continued from their checkpoint.
    const file = await api(c, 'GET', `/api/jobs/${id}/model`);
    expect(file.status).toBe(200);
    const distributed = loadModel(file.body as Uint8Array);
    cleanups.push(() => distributed.dispose());
    const reference = await trainReference(spec);
    const { worst, worstName } = compareParams(new Map(distributed.store.params.map((p) => [p.name, p.variable])), reference.network, false);
    expect(worst, `largest difference in ${worstName}`).toBeLessThan(1e-4);
  }, 400_000);
});
