import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeviceRuntime } from '../../client/device-runtime.js';
import type { DeviceProblem } from '../../client/device-types.js';
import { loadModel } from '../../engine/train/checkpoint.js';
import { useTestBackend } from '../helpers/backend.js';
import { api, cleanups, runCleanups, startTestCoordinator, waitForStatus } from '../server/helpers.js';
import { compareParams, trainingMoved, trainReference, type EquivalenceSpec } from './equivalence-reference.js';
import { waitForIdle, type JobDetailJson } from './processes.js';

beforeAll(useTestBackend);
afterEach(runCleanups);

/** The real device runtime (as `contsup device` and the browser page run it), in this process. */
async function runtimeDevice(url: string, token: string, name: string, problems: DeviceProblem[]): Promise<DeviceRuntime> {
  const device = new DeviceRuntime({
    url,
    token,
    name,
    kind: 'node',
    backend: 'wasm',
    memoryBytes: 2 ** 30,
    measureSpeed: () => 5,
    onError: (p) => problems.push(p),
  });
  cleanups.push(() => device.stop());
  await device.start();
  return device;
}

/**
 * Runs `spec` on two real device runtimes and in the in-process trainer (as
 * `contsup train` maps the same job), and checks that both end with the same
 * evaluation and the same value of every parameter and BN statistic.
 */
async function expectSameWeightsAsInProcess(spec: EquivalenceSpec, contextParam: string): Promise<void> {
  // Both devices train in this process and block its event loop while they do: give heartbeats room.
  const c = await startTestCoordinator({ heartbeatMs: 10_000, credits: 1 });
  const problems: DeviceProblem[] = [];
  await runtimeDevice(c.url, c.joinToken, 'a', problems);
  await runtimeDevice(c.url, c.joinToken, 'b', problems);
  await waitForIdle(c, ['a', 'b']);
  const created = await api(c, 'POST', '/api/jobs', { token: c.adminToken, body: spec });
  expect(created.status).toBe(201);
  const id = (created.body as { id: string }).id;
  const done = (await waitForStatus(c, id, ['done'], 60_000)) as JobDetailJson;
  expect(problems).toEqual([]);
  expect(done.plan).toHaveLength(2);
  expect(done.epochs).toHaveLength(1);
  const file = await api(c, 'GET', `/api/jobs/${id}/model`);
  expect(file.status).toBe(200);
  const distributed = loadModel(file.body as Uint8Array);
  cleanups.push(() => distributed.dispose());

  const reference = await trainReference(spec);
  expect(reference.recipe, 'the CLI mapping reads the same recipe as REST').toEqual(spec.recipe);

  // Same evaluation as the pipeline's.
  expect(done.epochs[0]!.testError).toBeCloseTo(reference.testError, 6);
  expect(done.epochs[0]!.moduleErrors).toHaveLength(spec.modules - 1);
  done.epochs[0]!.moduleErrors.forEach((e, m) => expect(e, `module ${m}`).toBeCloseTo(reference.moduleErrors[m]!, 6));

  // Every parameter and BN statistic, by name.
  const want = reference.network.store.params;
  const got = new Map(distributed.store.params.map((p) => [p.name, p.variable]));
  expect([...got.keys()].sort()).toEqual(want.map((p) => p.name).sort());
  expect(want.some((p) => p.name.includes(contextParam))).toBe(true);
  const { worst, worstName } = compareParams(got, reference.network, false);
  expect(worst, `largest difference in ${worstName}`).toBeLessThan(1e-5);
  // And training moved the weights (a pipeline that never stepped would not match either, but say so plainly).
  expect(trainingMoved(reference)).toBe(true);
}

describe('DeviceRuntime pipeline vs the in-process trainer', () => {
  it('ends with the in-process trainer weights: resnet20 K=3 R1E, one batch in flight, float32 wire', async () => {
    // R1E at K=3: module 2 takes module 1's input as R context, so the R history crosses whichever cut the planner makes.
    await expectSameWeightsAsInProcess(
      { model: 'resnet20', modules: 3, context: 'R1E', dataset: 'synthetic', limitTrain: 64, limitTest: 32, batchSize: 16, epochs: 1, minDevices: 2, seed: 5, lr: 0.05, wire: 'float32' },
      '/ctx/r1',
    );
  });

  it('ends with the in-process trainer weights under a non-default recipe (input shape, augmentation, SGD, BN, lr schedule)', async () => {
    // Every recipe field away from its default: the coordinator pads the images and sends the augmentation
    // to stage 0, the feeder sends the schedule's rates, and each StageHost builds its optimiser and BN from the job spec.
    const recipe = { inputSize: 36, augment: 'crop-flip', pad: 2, momentum: 0.5, weightDecay: 5e-4, nesterov: false, bnMomentum: 0.3, bnEps: 1e-3, lrSchedule: 'cosine-epoch' };
    await expectSameWeightsAsInProcess(
      { model: 'resnet20', modules: 2, context: 'E', dataset: 'synthetic', limitTrain: 48, limitTest: 16, batchSize: 16, epochs: 1, minDevices: 2, seed: 7, lr: 0.05, wire: 'float32', recipe },
      '/ctx/e',
    );
  });
});
