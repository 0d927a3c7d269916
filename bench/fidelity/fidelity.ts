/**
 * The fidelity harness (not a test): trains the authors' release (on CPU,
 * through release_runner.py) and contsup on the same preprocessed uint8
 * batches, in the same order, with the same learning rate per step and the
 * same initial weights, for each row and seed; writes fidelity.json, .md and
 * .svg. A difference in the results is then a difference in the learning.
 *
 *   npm run bench:fidelity -- --rows E2E,K4-R0,K16-R0 --seeds 1,2 --limit-train 10000 --epochs 2
 *
 * How it works and how to rerun: docs/fidelity.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { NodeBackendName } from '../../engine/backend/backend-names.js';
import { selectBackend } from '../../engine/backend/select-backend.js';
import { gatherBatch, type Dataset, type PreprocessSpec } from '../../engine/data/dataset.js';
import type { DatasetName } from '../../protocol/names.js';
import { loadDataset } from '../../engine/data/load-dataset.js';
import { augmentImages } from '../../engine/data/preprocess.js';
import { applyDataRecipe, type AugmentName } from '../../engine/data/recipe.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../engine/model/config.js';
import { GllNetwork } from '../../engine/model/network.js';
import { batchSeed, epochBatches } from '../../engine/train/batch-order.js';
import { InProcessTrainer } from '../../engine/train/gll-trainer.js';
import { parseLrSchedule, scheduledLr, type LrSchedule } from '../../engine/train/schedule.js';
import { DEFAULT_SGD } from '../../engine/train/sgd.js';
import { ensureRelease, runRelease } from './release-checkout.js';
import { exportReleaseWeights, writeTensors } from './release-weights.js';
import { budgetLine, chartSvg, markdownReport, type FidelityBudget, type FidelityResults, type FidelityRun } from './report.js';

export const ALL_ROWS = ['E2E', ...[2, 4, 8, 16].flatMap((k) => ['R0', 'E', 'R1', 'R1E'].map((c) => `K${k}-${c}`))];

export function parseRow(row: string): { modules: number; context: string } {
  if (row === 'E2E') return { modules: 1, context: 'R0' };
  const m = /^K(\d+)-(R0|E|R1|R1E)$/.exec(row);
  if (!m) throw new Error(`unknown row "${row}": use E2E or K<2|4|8|16>-<R0|E|R1|R1E>, e.g. K4-R1E`);
  return { modules: Number(m[1]), context: m[2] };
}

interface Job {
  budget: FidelityBudget;
  schedule: LrSchedule;
  work: string;
  release: string;
  threads: number;
}

/** Writes one epoch's augmented batches (exactly what contsup's trainer will draw) and returns their learning rates. */
function exportEpoch(data: Dataset, spec: PreprocessSpec, job: Job, seed: number, epoch: number, step0: number, total: number): { file: string; lrs: number[] } {
  const { train } = data;
  const batches = epochBatches(train.count, job.budget.batchSize, seed, epoch);
  const tensors: Array<{ name: string; shape: number[]; data: Uint8Array }> = [];
  const lrs: number[] = [];
  batches.forEach((idx, b) => {
    const raw = gatherBatch(train, idx);
    const images = augmentImages(raw.images, idx.length, train.height, train.width, train.channels, spec, batchSeed(seed, epoch, b));
    tensors.push({ name: `x${b}`, shape: [idx.length, train.height, train.width, train.channels], data: images }, { name: `y${b}`, shape: [idx.length], data: raw.labels });
    lrs.push(scheduledLr(job.budget.lr, job.schedule, { step: step0 + b, totalSteps: total, epoch, epochs: job.budget.epochs }));
  });
  const file = join(job.work, `train-s${seed}-e${epoch}`);
  writeTensors(file, tensors);
  return { file, lrs };
}

async function runOne(data: Dataset, spec: PreprocessSpec, job: Job, row: string, seed: number, log: (m: string) => void): Promise<FidelityRun> {
  const { modules, context } = parseRow(row);
  const config: ModelConfig = { ...DEFAULT_MODEL_CONFIG, modules, context, inputSize: job.budget.inputSize, inChannels: job.budget.channels, numClasses: data.numClasses, seed };
  const net = new GllNetwork(config);
  const tag = `${row}-s${seed}`;
  const weights = join(job.work, `weights-${tag}`);
  exportReleaseWeights(net, weights);
  const perEpoch = epochBatches(data.train.count, job.budget.batchSize, seed, 0).length;
  const total = perEpoch * job.budget.epochs;
  const epochs: Array<{ epoch: number; batches: string; lrs: number[] }> = [];
  for (let e = 1; e <= job.budget.epochs; e++) {
    const x = exportEpoch(data, spec, job, seed, e, (e - 1) * perEpoch, total);
    epochs.push({ epoch: e, batches: x.file, lrs: x.lrs });
  }
  const out = join(job.work, `release-${tag}.json`);
  const jobFile = join(job.work, `job-${tag}.json`);
  writeFileSync(jobFile, JSON.stringify({
    release: job.release, mode: 'train', model: config.model, modules, context, head: config.head, classes: data.numClasses,
    imageSize: job.budget.inputSize, batchSize: job.budget.batchSize, momentum: DEFAULT_SGD.momentum, weightDecay: DEFAULT_SGD.weightDecay,
    nesterov: DEFAULT_SGD.nesterov, bnMomentum: 0.1, bnEps: 1e-5, weights, mean: spec.mean, std: spec.std, threads: job.threads,
    test: join(job.work, 'test'), epochs, out,
  }));
  // Both sides at once: the release on its own CPU thread(s), contsup on its backend.
  const started = performance.now();
  let releaseSeconds = 0;
  const release = runRelease(jobFile, (l) => log(`  [release ${tag}] ${l}`)).then(() => {
    releaseSeconds = (performance.now() - started) / 1000;
  });
  const trainer = new InProcessTrainer(net, { epochs: job.budget.epochs, batchSize: job.budget.batchSize, lr: job.budget.lr, seed, schedule: job.schedule });
  const reports = await trainer.fit({ ...data, preprocess: spec }, { onEpoch: (r) => log(`  [contsup ${tag}] epoch ${r.epoch}: test error ${r.testError.toFixed(2)}%`) });
  const contsupSeconds = (performance.now() - started) / 1000;
  trainer.dispose();
  net.dispose();
  tf.disposeVariables();
  await release;
  const rel = JSON.parse(readFileSync(out, 'utf8')) as { epochs: Array<{ testError: number }> };
  return { row, modules, context, seed, backend: tf.getBackend(), contsup: reports.map((r) => r.testError), release: rel.epochs.map((e) => e.testError), contsupSeconds, releaseSeconds };
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** Results already in `path` under the same budget (a rerun adds rows or seeds to them); a fresh table otherwise. */
function resumable(path: string, budget: FidelityBudget, backend: string, log: (m: string) => void): FidelityResults {
  if (!existsSync(path)) return { budget, backend, runs: [] };
  const old = JSON.parse(readFileSync(path, 'utf8')) as FidelityResults;
  if (JSON.stringify(old.budget) === JSON.stringify(budget)) return old;
  log(`${path} was made under another budget: starting a new table`);
  return { budget, backend, runs: [] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: ALL_ROWS.join(',') },
      seeds: { type: 'string', default: '1,2' },
      dataset: { type: 'string', default: 'fashion-mnist' },
      'data-dir': { type: 'string' },
      'limit-train': { type: 'string', default: '10000' },
      'limit-test': { type: 'string', default: '10000' },
      epochs: { type: 'string', default: '2' },
      'batch-size': { type: 'string', default: '64' },
      lr: { type: 'string', default: '0.1' },
      'lr-schedule': { type: 'string', default: 'cosine-step' },
      augment: { type: 'string', default: 'none' },
      pad: { type: 'string', default: '4' },
      'input-size': { type: 'string', default: '32' },
      channels: { type: 'string', default: '3' },
      backend: { type: 'string' },
      threads: { type: 'string', default: '1' },
      out: { type: 'string', default: 'bench/results' },
    },
  });
  const log = (m: string): void => void process.stderr.write(`${m}\n`);
  const rows = values.rows.split(',').map((r) => r.trim()).filter(Boolean);
  rows.forEach(parseRow);
  const seeds = values.seeds.split(',').map(Number);
  const budget: FidelityBudget = {
    dataset: values.dataset, limitTrain: Number(values['limit-train']), limitTest: Number(values['limit-test']),
    epochs: Number(values.epochs), batchSize: Number(values['batch-size']), lr: Number(values.lr),
    schedule: parseLrSchedule(values['lr-schedule']), augment: values.augment,
    inputSize: Number(values['input-size']), channels: Number(values.channels),
  };
  const backend = await selectBackend(values.backend as NodeBackendName | undefined, log);
  const release = ensureRelease();
  const work = join('.fidelity', 'work');
  mkdirSync(work, { recursive: true });
  const raw = await loadDataset(budget.dataset as DatasetName, { dataDir: values['data-dir'], limitTrain: budget.limitTrain, limitTest: budget.limitTest, seed: 1 });
  const data = applyDataRecipe(raw, { inputSize: budget.inputSize, channels: budget.channels, augment: budget.augment as AugmentName, pad: Number(values.pad) });
  const spec = data.preprocess;
  writeTensors(join(work, 'test'), [
    { name: 'images', shape: [data.test.count, data.test.height, data.test.width, data.test.channels], data: data.test.images },
    { name: 'labels', shape: [data.test.count], data: data.test.labels },
  ]);
  const job: Job = { budget, schedule: { name: budget.schedule as LrSchedule['name'] }, work, release, threads: Number(values.threads) };
  log(`fidelity: ${budgetLine(budget)}; rows ${rows.join(', ')}; seeds ${seeds.join(', ')}`);
  mkdirSync(values.out, { recursive: true });
  const results = resumable(join(values.out, 'fidelity.json'), budget, backend, log);
  // Seeds outermost: a stopped run still has every row at the first seed.
  for (const seed of seeds) {
    for (const row of rows) {
      if (results.runs.some((r) => r.row === row && r.seed === seed)) continue;
      log(`${row} seed ${seed} ...`);
      const run = await runOne(data, spec, job, row, seed, log);
      log(`${row} seed ${seed}: contsup ${run.contsup.at(-1)!.toFixed(2)}%, release ${run.release.at(-1)!.toFixed(2)}%`);
      results.runs.push(run);
      writeAtomic(join(values.out, 'fidelity.json'), `${JSON.stringify(results, null, 2)}\n`);
      writeAtomic(join(values.out, 'fidelity.md'), markdownReport(results));
      writeAtomic(join(values.out, 'fidelity.svg'), chartSvg(results));
    }
  }
  process.stdout.write(markdownReport(results));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
