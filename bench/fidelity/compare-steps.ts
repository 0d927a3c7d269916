/**
 * Diagnosis (not a test): the first few SGD steps of one row on real data,
 * contsup and the release side by side from the same initial weights and
 * batches, every module's local loss at every step. Where the harness shows a
 * row apart, this says at which step and in which module the two part.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/fidelity/compare-steps.js --modules 16 --context R1E --lr 0.1 --steps 3
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { NodeBackendName } from '../../engine/backend/backend-names.js';
import { selectBackend } from '../../engine/backend/select-backend.js';
import { gatherBatch } from '../../engine/data/dataset.js';
import { loadDataset } from '../../engine/data/load-dataset.js';
import { applyDataRecipe } from '../../engine/data/recipe.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../engine/model/config.js';
import { GllNetwork } from '../../engine/model/network.js';
import { epochBatches } from '../../engine/train/batch-order.js';
import { disposePrepared, prepareBatch } from '../../engine/train/batches.js';
import { StageRunner, disposeStageTensors } from '../../engine/train/stage-runner.js';
import type { DatasetName } from '../../protocol/names.js';
import { ensureRelease, runRelease } from './release-checkout.js';
import { exportReleaseWeights, writeTensors } from './release-weights.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      modules: { type: 'string', default: '16' },
      context: { type: 'string', default: 'R1E' },
      lr: { type: 'string', default: '0.1' },
      steps: { type: 'string', default: '3' },
      'batch-size': { type: 'string', default: '64' },
      seed: { type: 'string', default: '1' },
      dataset: { type: 'string', default: 'fashion-mnist' },
      'data-dir': { type: 'string' },
      backend: { type: 'string' },
    },
  });
  const log = (m: string): void => void process.stderr.write(`${m}\n`);
  await selectBackend(values.backend as NodeBackendName | undefined, log);
  const steps = Number(values.steps);
  const batchSize = Number(values['batch-size']);
  const seed = Number(values.seed);
  const lr = Number(values.lr);
  const raw = await loadDataset(values.dataset as DatasetName, { dataDir: values['data-dir'], limitTrain: steps * batchSize, limitTest: 1, seed: 1 });
  const data = applyDataRecipe(raw, { inputSize: 32, channels: 3, augment: 'none' });
  const config: ModelConfig = { ...DEFAULT_MODEL_CONFIG, modules: Number(values.modules), context: values.context, inputSize: 32, inChannels: 3, numClasses: data.numClasses, seed };
  const net = new GllNetwork(config);
  const work = join('.fidelity', 'compare');
  mkdirSync(work, { recursive: true });
  const prefix = join(work, 'w');
  exportReleaseWeights(net, prefix);
  const order = epochBatches(data.train.count, batchSize, seed, 1).slice(0, steps);
  const shape: [number, number, number] = [32, 32, 3];
  const inputs: Array<{ name: string; shape: number[]; data: Float32Array | Uint8Array }> = [];
  const batches = order.map((idx, s) => {
    const b = gatherBatch(data.train, idx);
    const prepared = prepareBatch(net, b.images, b.labels, shape, data.preprocess);
    const nchw = tf.tidy(() => tf.transpose(prepared.input.h, [0, 3, 1, 2]));
    inputs.push({ name: `x${s}`, shape: nchw.shape, data: nchw.dataSync() as Float32Array }, { name: `y${s}`, shape: [idx.length], data: b.labels });
    nchw.dispose();
    return prepared;
  });
  writeTensors(join(work, 'inputs'), inputs);
  const lrs = order.map(() => lr);
  const job = {
    release: ensureRelease(), mode: 'steps', model: config.model, modules: config.modules, context: config.context, head: config.head,
    classes: data.numClasses, imageSize: 32, batchSize, momentum: 0.9, weightDecay: 1e-4, nesterov: true, bnMomentum: 0.1, bnEps: 1e-5,
    weights: prefix, inputs: join(work, 'inputs'), lrs, out: join(work, 'out.json'), threads: 1,
  };
  writeFileSync(join(work, 'job.json'), JSON.stringify(job));
  const release = runRelease(join(work, 'job.json'), log);
  const runner = new StageRunner(net, 0, net.moduleCount - 1);
  const ours: number[][] = [];
  for (const [s, batch] of batches.entries()) {
    const { output, metrics } = await runner.train(batch.input, batch.labels, batch.target, lrs[s]!);
    disposeStageTensors(output);
    disposePrepared(batch);
    ours.push(metrics.map((m) => m.loss));
  }
  await release;
  const theirs = (JSON.parse(readFileSync(job.out, 'utf8')) as { losses: number[][] }).losses;
  for (let s = 0; s < steps; s++) {
    log(`step ${s}:`);
    ours[s]!.forEach((l, k) => log(`  module ${k}: contsup ${l.toFixed(5)}  release ${theirs[s]![k]!.toFixed(5)}  diff ${(l - theirs[s]![k]!).toExponential(2)}`));
  }
  runner.dispose();
  net.dispose();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
