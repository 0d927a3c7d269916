import { afterEach, describe, expect, it } from 'vitest';
import type { JobDetail, StageAssign } from '../../protocol/index.js';
import { api, getJob, runCleanups, smallJob, startTestCoordinator, waitFor, waitForStatus } from './helpers.js';
import { shapeDevice, type ShapeDevice } from './shape-device.js';
import { historyFaults, storedHistory } from './step-history.js';

afterEach(runCleanups);

const STEPS = 10;
const JOB = smallJob({ limitTrain: 160, limitTest: 32, checkpointEvery: 3 });

async function create(c: { url: string; adminToken: string }): Promise<string> {
  const res = await api(c, 'POST', '/api/jobs', { token: c.adminToken, body: JOB });
  expect(res.status).toBe(201);
  return (res.body as { id: string }).id;
}

/** The job's `not-ready` event once there is one. */
async function notReady(c: { url: string }, id: string): Promise<JobDetail['events'][number]> {
  return waitFor(
    async () => ((await getJob(c, id)) as unknown as JobDetail).events.find((e) => e.code === 'not-ready'),
    'a not-ready event',
    15_000,
  );
}

function expectGivenUp(mute: ShapeDevice, event: JobDetail['events'][number]): void {
  expect(event.deviceId).toBe(mute.deviceId);
  expect(event.stage).toBe(mute.assigns[0]!.stage);
  expect(event.message).toMatch(/^stage \d \(modules \d\.\.\d\) did not report ready within 1 s of its assignment; the stage is given to another device/);
  expect(mute.errors.map((e) => e.code)).toContain('not-ready');
  expect(mute.socket.connected).toBe(false);
}

describe('a device that never reports its stage ready', () => {
  it('at the job start: after the ready timeout the stage goes to another device and the job ends done', async () => {
    const c = await startTestCoordinator({ readyTimeoutMs: 1000 });
    await shapeDevice(c.url, { name: 'good', delayMs: 2 });
    // Builds nothing and says nothing, but stays connected and beating.
    const mute = await shapeDevice(c.url, { name: 'mute', delayMs: 2, buildFails: () => 'silent' });
    const id = await create(c);
    expectGivenUp(mute, await notReady(c, id));
    expect(((await getJob(c, id)) as unknown as JobDetail).waitingFor).toBe(`an idle device for stage(s) ${mute.assigns[0]!.stage}`);

    const spare = await shapeDevice(c.url, { name: 'spare', delayMs: 2 });
    const done = (await waitForStatus(c, id, ['done'], 30_000)) as unknown as JobDetail;
    expect(spare.assigns[0]).toMatchObject({ stage: mute.assigns[0]!.stage, step: 0 });
    expect(done.progress).toMatchObject({ stepsDone: STEPS, totalSteps: STEPS });
    expect(historyFaults(storedHistory(c.dataDir, id), 2, STEPS)).toEqual([]);
  });

  it('in a recovery: a replacement device that never reports ready is given up on too, and the next one finishes the job', async () => {
    const c = await startTestCoordinator({ readyTimeoutMs: 1000 });
    // Whichever device gets the last stage dies after acknowledging 5 batches.
    const onAssign = (a: StageAssign, d: ShapeDevice): void => {
      if (a.stage === 1) d.stopAfter = 5;
    };
    await shapeDevice(c.url, { name: 'a', delayMs: 5, onAssign });
    await shapeDevice(c.url, { name: 'b', delayMs: 5, onAssign });
    const id = await create(c);
    expect((await waitForStatus(c, id, ['paused', 'done'])).status).toBe('paused');

    const mute = await shapeDevice(c.url, { name: 'mute', delayMs: 2, buildFails: () => 'silent' });
    expectGivenUp(mute, await notReady(c, id));
    // Restored from the stage's checkpoint, like any replacement.
    expect(mute.assigns[0]).toMatchObject({ stage: 1, step: 3 });

    const spare = await shapeDevice(c.url, { name: 'spare', delayMs: 2 });
    const done = (await waitForStatus(c, id, ['done'], 30_000)) as unknown as JobDetail;
    expect(spare.assigns[0]).toMatchObject({ stage: 1, step: 3 });
    expect(done.progress).toMatchObject({ stepsDone: STEPS, totalSteps: STEPS });
    expect(historyFaults(storedHistory(c.dataDir, id), 2, STEPS)).toEqual([]);
  });
});
