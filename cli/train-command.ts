import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../engine/data/dataset.js';
import { loadDataset } from '../engine/data/load-dataset.js';
import type { NodeBackendName } from '../engine/backend/backend-names.js';
import { backendAdapter, describeBackend, selectBackend } from '../engine/backend/select-backend.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../engine/model/config.js';
import { GllNetwork } from '../engine/model/network.js';
import { parseJobSpec, type JobSpec } from '../protocol/job-spec.js';
import type { DatasetSpec, HeadName, LossName, ModelName, PartitionKind } from '../protocol/names.js';
import { InProcessTrainer, type EpochReport } from '../engine/train/gll-trainer.js';
import { applyDataRecipe, folderShapeFor } from '../engine/data/recipe.js';
import { modelRecipe, trainerSettingsFor, type TrainingRecipe } from '../engine/train/recipe.js';
import { ProgressBar } from './progress.js';
import { recipeInput, type RecipeOptions } from './recipe-options.js';

export interface TrainCommandOptions extends RecipeOptions {
  model: ModelName;
  modules: number;
  context: string;
  loss: LossName;
  head: HeadName;
  decoder: boolean;
  partition: PartitionKind;
  dataset: DatasetSpec;
  dataDir?: string;
  epochs: number;
  batchSize: number;
  lr: number;
  limitTrain?: number;
  limitTest?: number;
  seed: number;
  backend?: NodeBackendName;
  /** ATen threads when the backend is native. */
  threads?: number;
  json: boolean;
}

/**
 * The job a train run describes, checked by parseJobSpec: `contsup train`
 * refuses a bad value with the same words as POST /api/jobs.
 */
export function trainJobSpec(opts: Omit<TrainCommandOptions, 'json' | 'dataDir' | 'backend' | 'threads'>): JobSpec {
  const { model, modules, context, loss, head, decoder, partition, dataset, epochs, batchSize, lr, limitTrain, limitTest, seed } = opts;
  const recipe = recipeInput(opts);
  return parseJobSpec({
    model,
    modules,
    context,
    loss,
    head,
    decoder,
    partition,
    dataset,
    epochs,
    batchSize,
    lr,
    seed,
    ...(limitTrain === undefined ? {} : { limitTrain }),
    ...(limitTest === undefined ? {} : { limitTest }),
    ...(recipe === undefined ? {} : { recipe }),
  });
}

/** The data set as the job's recipe feeds it (the same mapping as the coordinator's jobs service); as loaded without a recipe. */
export async function getDataset(
  opts: Pick<TrainCommandOptions, 'dataset' | 'dataDir' | 'limitTrain' | 'limitTest' | 'seed'> & { recipe?: TrainingRecipe },
  log: (msg: string) => void,
): Promise<Dataset> {
  const bars = new Map<string, ProgressBar>();
  const recipe = opts.recipe ?? {};
  const data = await loadDataset(opts.dataset, {
    ...folderShapeFor(recipe),
    dataDir: opts.dataDir,
    onWarning: (m) => log(`warning: ${m}`),
    limitTrain: opts.limitTrain,
    limitTest: opts.limitTest,
    seed: opts.seed,
    onProgress: ({ file, received, total }) => {
      let bar = bars.get(file);
      if (!bar) {
        log(`downloading ${file}`);
        bar = new ProgressBar(file.split('/').pop() ?? file, total ?? 0, 'bytes');
        bars.set(file, bar);
      }
      bar.update(received);
      if (total !== undefined && received >= total) bar.finish();
    },
  });
  return opts.recipe === undefined ? data : applyDataRecipe(data, recipe);
}

export function modelConfigFor(opts: TrainCommandOptions & { recipe?: TrainingRecipe }, data: Dataset): ModelConfig {
  return {
    ...DEFAULT_MODEL_CONFIG,
    ...modelRecipe(opts.recipe ?? {}),
    model: opts.model,
    modules: opts.modules,
    context: opts.context,
    loss: opts.loss,
    head: opts.head,
    decoder: opts.decoder,
    partition: opts.partition,
    inputSize: data.train.height,
    inChannels: data.train.channels,
    numClasses: data.numClasses,
    seed: opts.seed,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** `contsup train`: the in-process reference trainer with progress bar or JSON lines. */
export async function runTrain(opts: TrainCommandOptions): Promise<EpochReport[]> {
  // With --json, stdout carries only JSON lines; human messages go to stderr.
  const log = (msg: string): void => void process.stderr.write(`${msg}\n`);
  const emit = (obj: object): void => void process.stdout.write(`${JSON.stringify(obj)}\n`);
  // Before the backend and the data load: a bad value is refused at once.
  const spec = trainJobSpec(opts);
  const recipe = spec.recipe;
  if (opts.threads !== undefined) (await import('../engine/backend/native/activate.js')).requestNativeThreads(opts.threads);
  const backend = await selectBackend(opts.backend, log);
  log(`backend: ${describeBackend()}`);
  const adapter = backendAdapter();
  if (adapter !== null) log(`adapter: ${adapter}`);
  // Only where there is one, so the JSON of CPU runs stays as it was.
  const withAdapter = adapter !== null ? { adapter } : {};
  const data = await getDataset({ ...opts, recipe }, log);
  const net = new GllNetwork(modelConfigFor({ ...opts, recipe }, data));
  const counts = net.paramCounts();
  const params: Record<string, number> = { backbone: counts.backbone, heads: counts.head, context: counts.context };
  if (opts.decoder) params.decoder = counts.decoder;
  const trainer = new InProcessTrainer(net, { epochs: opts.epochs, batchSize: opts.batchSize, lr: opts.lr, seed: opts.seed, ...trainerSettingsFor(spec) });
  const summary = `${opts.model} K=${net.moduleCount} ${opts.context} ${opts.loss} ${opts.head}${opts.decoder ? ' +decoder' : ''} on ${data.name} (${data.train.count} train / ${data.test.count} test, ${data.train.height}x${data.train.width}x${data.train.channels})`;
  if (opts.json) emit({ event: 'start', backend, ...withAdapter, model: opts.model, modules: net.moduleCount, context: opts.context, dataset: data.name, trainCount: data.train.count, testCount: data.test.count, params });
  else log(`${summary}\nparams: ${JSON.stringify(params)}${recipe ? `\nrecipe: ${JSON.stringify(recipe)}` : ''}`);
  try {
    const reports = await trainer.fit(data, {
      onStep: (() => {
        let bar: ProgressBar | null = null;
        return (r) => {
          if (opts.json) return;
          if (r.batchInEpoch === 0) bar = new ProgressBar(`epoch ${r.epoch}/${opts.epochs}`, data.train.count);
          const last = r.metrics[r.metrics.length - 1];
          bar!.update(r.samples, `loss ${last.loss.toFixed(3)} lr ${r.lr.toFixed(4)}`);
          if (r.batchInEpoch === r.batchesPerEpoch - 1) bar!.finish(`loss ${last.loss.toFixed(3)}`);
        };
      })(),
      onEpoch: (r) => {
        const line = {
          event: 'epoch',
          epoch: r.epoch,
          testError: round(r.testError, 2),
          moduleErrors: r.moduleErrors.map((e) => (e === null ? null : round(e, 2))),
          samplesPerSec: round(r.samplesPerSec, 1),
          peakBytes: r.peakBytes,
          backend,
          ...withAdapter,
          params,
          trainLoss: r.trainLoss.map((l) => round(l, 4)),
        };
        if (opts.json) emit(line);
        else log(`epoch ${r.epoch}: test error ${line.testError}% | local heads ${line.moduleErrors.map((e) => (e === null ? '-' : `${e}%`)).join(' ')} | ${line.samplesPerSec} samples/s | peak MiB per module ${r.peakBytes.map((b) => (b / 2 ** 20).toFixed(1)).join(' ')}`);
      },
    });
    return reports;
  } finally {
    trainer.dispose();
    net.dispose();
    tf.disposeVariables();
  }
}
