import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeviceRuntime } from '../../client/device-runtime.js';
import type { DeviceProblem } from '../../client/device-types.js';
import { GllNetwork } from '../../engine/model/network.js';
import type { RecipeOptions } from '../../cli/recipe-options.js';
import { getDataset, modelConfigFor, trainJobSpec, type TrainCommandOptions } from '../../cli/train-command.js';
import { trainerSettingsFor } from '../../engine/train/recipe.js';
import { loadModel } from '../../engine/train/checkpoint.js';
import { InProcessTrainer } from '../../engine/train/gll-trainer.js';
import { useTestBackend } from '../helpers/backend.js';
import { api, cleanups, runCleanups, startTestCoordinator, waitForStatus } from '../server/helpers.js';
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

/** A job as POST /api/jobs takes it; `recipe` in the REST words. */
type EquivalenceSpec = Omit<TrainCommandOptions, 'head' | 'loss' | 'decoder' | 'partition' | 'json' | keyof RecipeOptions> & {
  minDevices: number;
  wire: 'float32';
  recipe?: Record<string, unknown>;
};

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

  const { recipe: recipeInput, ...rest } = spec;
  const opts: TrainCommandOptions = { ...rest, ...(recipeInput as RecipeOptions | undefined), head: '1c2f', loss: 'ce', decoder: false, partition: 'equal', json: false };
  const job = trainJobSpec(opts);
  const recipe = job.recipe;
  expect(recipe, 'the CLI mapping reads the same recipe as REST').toEqual(spec.recipe);
  const data = await getDataset({ ...opts, recipe }, () => undefined);
  const reference = new GllNetwork(modelConfigFor({ ...opts, recipe }, data));
  const trainer = new InProcessTrainer(reference, { epochs: spec.epochs, batchSize: spec.batchSize, lr: spec.lr, seed: spec.seed, ...trainerSettingsFor(job) });
  cleanups.push(() => {
    trainer.dispose();
    reference.dispose();
  });
  const [epoch] = await trainer.fit(data);

  // Same evaluation as the pipeline's.
  expect(done.epochs[0]!.testError).toBeCloseTo(epoch!.testError, 6);
  expect(done.epochs[0]!.moduleErrors).toHaveLength(spec.modules - 1);
  done.epochs[0]!.moduleErrors.forEach((e, m) => expect(e, `module ${m}`).toBeCloseTo(epoch!.moduleErrors[m]!, 6));

  // Every parameter and BN statistic, by name.
  const want = reference.store.params;
  const got = new Map(distributed.store.params.map((p) => [p.name, p]));
  expect([...got.keys()].sort()).toEqual(want.map((p) => p.name).sort());
  expect(want.some((p) => p.name.includes(contextParam))).toBe(true);
  let worst = 0;
  let worstName = '';
  for (const p of want) {
    const a = got.get(p.name)!.variable.dataSync();
    const b = p.variable.dataSync();
    expect(a.length, p.name).toBe(b.length);
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      if (!(d <= worst)) {
        worst = d;
        worstName = p.name;
      }
    }
  }
  expect(worst, `largest difference in ${worstName}`).toBeLessThan(1e-5);
  // And training moved the weights (a pipeline that never stepped would not match either, but say so plainly).
  const fresh = new GllNetwork(modelConfigFor({ ...opts, recipe }, data));
  cleanups.push(() => fresh.dispose());
  const moved = want.filter((p) => p.trainable).some((p) => {
    const a = p.variable.dataSync();
    const b = fresh.store.get(p.name)!.variable.dataSync();
    return a.some((v, i) => v !== b[i]);
  });
  expect(moved).toBe(true);
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
