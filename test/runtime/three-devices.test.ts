import { afterEach, describe, expect, it } from 'vitest';
import { getJob, runCleanups, startTestCoordinator, waitForStatus } from '../server/helpers.js';
import { createJob, dumpOutputs, exclusiveMachine, type JobDetailJson, spawnDevice, storedSteps, waitForIdle } from './processes.js';

afterEach(runCleanups);

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('three device processes', () => {
  it('train resnet32 K=4 E to done over three stages, and the last module loss falls', async ({ onTestFailed }) => {
    await exclusiveMachine();
    const c = await startTestCoordinator();
    const names = ['d1', 'd2', 'd3'];
    const devices = names.map((n) => spawnDevice(c.url, c.joinToken, n));
    onTestFailed(() => console.error(`${dumpOutputs(devices)}\n--- coordinator ---\n${c.logs.join('\n')}`));
    const joined = await waitForIdle(c, names);

    const id = await createJob(c, c.adminToken, {
      model: 'resnet32', modules: 4, context: 'E', dataset: 'synthetic', epochs: 1, batchSize: 32, limitTrain: 256, limitTest: 128, minDevices: 3,
    });
    await waitForStatus(c, id, ['done'], 80_000);
    const job = (await getJob(c, id)) as JobDetailJson;
    // No device was taken for lost on the way (a spurious loss would replay the epoch on fresh weights).
    expect(c.logs.filter((l) => / lost: /.test(l))).toEqual([]);

    // Three stages, one per device, with contiguous module ranges covering 0..3.
    expect(job.plan).toHaveLength(3);
    expect(new Set(job.plan.map((p) => p.deviceId))).toEqual(new Set([...joined.values()].map((d) => d.id)));
    expect(job.plan[0]!.firstModule).toBe(0);
    expect(job.plan.at(-1)!.lastModule).toBe(3);
    for (let s = 1; s < job.plan.length; s++) expect(job.plan[s]!.firstModule).toBe(job.plan[s - 1]!.lastModule + 1);

    // Every stage saw all 256 training samples and moved bytes both ways.
    expect(job.stages).toHaveLength(3);
    for (const st of job.stages) {
      expect(st.samples, `stage ${st.stage} samples`).toBe(256);
      expect(st.bytesIn, `stage ${st.stage} bytesIn`).toBeGreaterThan(0);
      expect(st.bytesOut, `stage ${st.stage} bytesOut`).toBeGreaterThan(0);
      expect(st.samplesPerSec, `stage ${st.stage} samplesPerSec`).toBeGreaterThan(0);
    }
    expect(job.progress).toMatchObject({ stepsDone: 8, totalSteps: 8 });

    // One evaluated epoch: the network's error and one per local head (modules 0..2).
    expect(job.epochs).toHaveLength(1);
    const epoch = job.epochs[0]!;
    expect(epoch.testError).toBeGreaterThanOrEqual(0);
    expect(epoch.testError).toBeLessThanOrEqual(100);
    expect(epoch.moduleErrors).toHaveLength(3);
    for (const e of epoch.moduleErrors) {
      expect(e).not.toBeNull();
      expect(e).toBeGreaterThanOrEqual(0);
      expect(e).toBeLessThanOrEqual(100);
    }

    // Stored per-step metrics: every module every step, and the last module's loss fell.
    const steps = storedSteps(c.dataDir, id);
    expect(steps).toHaveLength(8 * 4);
    const last = steps.filter((r) => r.module === 3).sort((a, b) => a.step - b.step);
    expect(last.map((r) => r.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const losses = last.map((r) => r.loss);
    expect(losses.every((l) => l !== null && Number.isFinite(l))).toBe(true);
    const first3 = mean(losses.slice(0, 3) as number[]);
    const last3 = mean(losses.slice(-3) as number[]);
    expect(last3, `last module loss: first steps ${first3.toFixed(3)}, last steps ${last3.toFixed(3)}`).toBeLessThan(first3);

    // The devices are idle again and none of them crashed.
    const after = await waitForIdle(c, names, 10_000);
    expect(after.size).toBe(3);
    for (const d of devices) expect(d.proc.exitCode, d.name).toBeNull();
  }, 300_000);
});
