import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { NODE_BACKEND_NAMES, type NodeBackendName } from '../engine/backend/backend-names.js';
import { JOB_DEFAULTS, REPRODUCE_DEFAULTS } from '../protocol/defaults.js';
import { DATASET_NAMES, type DatasetName } from '../protocol/names.js';
import { int, num } from './options.js';
import { lineChartSvg } from './svg-chart.js';
import type { TrainingRecipe } from '../engine/train/recipe.js';
import { RECIPES, describeBudget, recipeNamed } from './recipes.js';
import { addRecipeOptions, recipeInput, type RecipeOptions } from './recipe-options.js';
import type { TrainCommandOptions } from './train-command.js';

/** The paper's table: E2E, then R0/E/R1/R1E at K = 2, 4, 8, 16 (17 runs). */
export const REPRODUCTION_RUNS: Array<{ modules: number; context: string }> = [
  { modules: 1, context: 'R0' },
  ...[2, 4, 8, 16].flatMap((modules) => ['R0', 'E', 'R1', 'R1E'].map((context) => ({ modules, context }))),
];

interface Budget {
  dataset: DatasetName;
  model: 'resnet32';
  /** Undefined: the whole split (a named recipe may say so). */
  limitTrain?: number;
  limitTest?: number;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** The named recipe the budget came from (`--recipe`), if any. */
  name?: string;
  /** The training recipe; absent = contsup's defaults. */
  recipe?: TrainingRecipe;
}

interface RunResult {
  modules: number;
  context: string;
  testError: number;
  moduleErrors: Array<number | null>;
  samplesPerSec: number;
  seconds: number;
}

interface Reproduction {
  budget: Budget;
  backend: string;
  runs: RunResult[];
}

/** One run of the table: the budget, the run's K and context, the job defaults for the rest. */
function trainOptions(budget: Budget, run: { modules: number; context: string }): TrainCommandOptions {
  const { name: _name, recipe, ...rest } = budget;
  return { ...rest, ...(recipe ?? {}), ...run, loss: JOB_DEFAULTS.loss, head: JOB_DEFAULTS.head, decoder: JOB_DEFAULTS.decoder, partition: JOB_DEFAULTS.partition, json: false };
}

function label(r: { modules: number; context: string }): string {
  return r.modules === 1 ? 'E2E' : r.context;
}

/** The budget line above the table: what it was trained under, recipe included. */
export function budgetLine(b: Budget): string {
  return describeBudget({ ...b, recipe: b.recipe ?? {} });
}

export function markdownTable(rep: Reproduction): string {
  const ks = [2, 4, 8, 16];
  const e2e = rep.runs.find((r) => r.modules === 1);
  const lines = [
    `${budgetLine(rep.budget)}`,
    '',
    `| mode | ${ks.map((k) => `K = ${k}`).join(' | ')} |`,
    `|---|${ks.map(() => '---').join('|')}|`,
  ];
  if (e2e) lines.push(`| E2E (K = 1) | ${ks.map(() => e2e.testError.toFixed(2)).join(' | ')} |`);
  for (const ctx of ['R0', 'E', 'R1', 'R1E']) {
    const cells = ks.map((k) => rep.runs.find((r) => r.modules === k && r.context === ctx)?.testError.toFixed(2) ?? '-');
    lines.push(`| ${ctx} | ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

export function chart(rep: Reproduction): string {
  const e2e = rep.runs.find((r) => r.modules === 1);
  const series = ['R0', 'E', 'R1', 'R1E'].map((ctx) => ({
    name: ctx,
    points: rep.runs.filter((r) => r.context === ctx && r.modules > 1).map((r) => [r.modules, r.testError] as [number, number]),
  }));
  if (e2e) series.unshift({ name: 'E2E (K = 1)', points: [1, 2, 4, 8, 16].map((k) => [k, e2e.testError] as [number, number]) });
  const b = rep.budget;
  return lineChartSvg({
    title: `ResNet-32 on ${b.dataset}: ${b.limitTrain ?? 'all'} train images, ${b.epochs} epoch(s), batch ${b.batchSize}${b.name ? ` (recipe ${b.name})` : ''}`,
    xLabel: 'modules K',
    yLabel: 'test error (%)',
    xTicks: [1, 2, 4, 8, 16],
    series: series.filter((s) => s.points.length > 0),
  });
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/**
 * Trains every run of the table under one budget and writes
 * reproduction.json, reproduction.md and reproduction.svg into `out`. Results
 * are saved after each run, and runs already in the file with the same budget
 * are skipped, so an interrupted reproduction resumes where it stopped.
 */
export async function runReproduce(opts: Omit<Budget, 'model'> & { out: string; dataDir?: string; backend?: NodeBackendName }): Promise<Reproduction> {
  const log = (m: string): void => void process.stderr.write(`${m}\n`);
  // tfjs is loaded on use: the CLI registers this command in every process, the coordinator's too.
  const tf = await import('@tensorflow/tfjs-core');
  const { selectBackend } = await import('../engine/backend/select-backend.js');
  const { GllNetwork } = await import('../engine/model/network.js');
  const { InProcessTrainer } = await import('../engine/train/gll-trainer.js');
  const { trainerSettingsFor } = await import('../engine/train/recipe.js');
  const { getDataset, modelConfigFor, trainJobSpec } = await import('./train-command.js');
  const budget: Budget = {
    dataset: opts.dataset, model: 'resnet32', limitTrain: opts.limitTrain, limitTest: opts.limitTest, epochs: opts.epochs, batchSize: opts.batchSize, lr: opts.lr, seed: opts.seed,
    ...(opts.name === undefined ? {} : { name: opts.name }),
    ...(opts.recipe === undefined ? {} : { recipe: opts.recipe }),
  };
  // Checked like a job, before anything loads: a bad budget is refused at once.
  const specs = REPRODUCTION_RUNS.map((run) => trainJobSpec(trainOptions(budget, run)));
  const backend = await selectBackend(opts.backend, log);
  mkdirSync(opts.out, { recursive: true });
  const jsonPath = join(opts.out, 'reproduction.json');
  let rep: Reproduction = { budget, backend, runs: [] };
  if (existsSync(jsonPath)) {
    const old = JSON.parse(readFileSync(jsonPath, 'utf8')) as Reproduction;
    if (JSON.stringify(old.budget) === JSON.stringify(budget)) rep = old;
    else log(`${jsonPath} was made with another budget: starting over`);
  }
  // Every run's spec carries the same recipe (only K and the context differ).
  const recipe = specs[0]!.recipe;
  log(budgetLine(budget));
  const data = await getDataset({ dataset: opts.dataset, dataDir: opts.dataDir, limitTrain: opts.limitTrain, limitTest: opts.limitTest, seed: opts.seed, recipe }, log);
  for (const [i, run] of REPRODUCTION_RUNS.entries()) {
    if (rep.runs.some((r) => r.modules === run.modules && r.context === run.context)) continue;
    const net = new GllNetwork(modelConfigFor({ ...trainOptions(budget, run), recipe }, data));
    const trainer = new InProcessTrainer(net, { epochs: budget.epochs, batchSize: budget.batchSize, lr: budget.lr, seed: budget.seed, ...trainerSettingsFor(specs[i]!) });
    const start = performance.now();
    log(`[${i + 1}/${REPRODUCTION_RUNS.length}] ${label(run)} K=${run.modules} ...`);
    const reports = await trainer.fit(data);
    const last = reports[reports.length - 1];
    rep.runs.push({ ...run, testError: last.testError, moduleErrors: last.moduleErrors, samplesPerSec: last.samplesPerSec, seconds: (performance.now() - start) / 1000 });
    log(`[${i + 1}/${REPRODUCTION_RUNS.length}] ${label(run)} K=${run.modules}: test error ${last.testError.toFixed(2)}%`);
    trainer.dispose();
    net.dispose();
    tf.disposeVariables();
    writeAtomic(jsonPath, `${JSON.stringify(rep, null, 2)}\n`);
    writeAtomic(join(opts.out, 'reproduction.md'), markdownTable(rep));
    writeAtomic(join(opts.out, 'reproduction.svg'), chart(rep));
  }
  return rep;
}

export function reproduceCommand(program: Command): void {
  const d = REPRODUCE_DEFAULTS;
  // As for `contsup train`: the budget's ranges are checked by parseJobSpec (runReproduce).
  const cmd = program
    .command('reproduce')
    .description("train the paper's table (E2E; R0, E, R1, R1E at K = 2, 4, 8, 16) under one budget; writes JSON, markdown and an SVG chart")
    .option('--dataset <name>', `data set: one of ${DATASET_NAMES.join(', ')}`, d.dataset)
    .option('--data-dir <dir>', 'where data sets are searched and downloaded')
    .option('--limit-train <n>', 'training images per run', int('--limit-train'), d.limitTrain)
    .option('--limit-test <n>', 'test images per run', int('--limit-test'), d.limitTest)
    .option('--epochs <n>', 'epochs per run', int('--epochs'), d.epochs)
    .option('--batch-size <n>', 'batch size', int('--batch-size'), d.batchSize)
    .option('--lr <x>', 'initial learning rate', num('--lr'), d.lr)
    .option('--seed <n>', 'seed (the same for every run)', int('--seed'), d.seed)
    .addOption(new Option('--backend <name>', 'tfjs backend (default: best available)').choices(NODE_BACKEND_NAMES))
    .option('--out <dir>', 'output folder', d.out)
    .option('--recipe <name>', `a named budget + recipe: one of ${RECIPES.map((r) => r.name).join(', ')}; options given as well override it`);
  addRecipeOptions(cmd, true).action(async (o: ReproduceOptions, self: Command) => {
    const rep = await runReproduce(budgetOf(o, (key) => self.getOptionValueSource(key) === 'cli'));
    process.stdout.write(markdownTable(rep));
  });
}

type ReproduceOptions = Omit<Budget, 'model' | 'name' | 'recipe'> & RecipeOptions & { out: string; dataDir?: string; backend?: NodeBackendName; recipe?: string };

const BUDGET_KEYS = ['dataset', 'limitTrain', 'limitTest', 'epochs', 'batchSize', 'lr'] as const;

/**
 * The budget the options describe. With `--recipe NAME` the named budget and
 * recipe replace the defaults; an option given on the command line still wins
 * (`given` tells which were), so `--recipe fmnist-release --epochs 1` is that
 * recipe for one epoch.
 */
export function budgetOf(o: ReproduceOptions, given: (key: string) => boolean): Omit<Budget, 'model'> & { out: string; dataDir?: string; backend?: NodeBackendName } {
  const { recipe: name, out, dataDir, backend, seed } = o;
  const fromOptions = recipeInput(o) as TrainingRecipe | undefined;
  const base = { out, dataDir, backend, seed };
  if (name === undefined) {
    return { ...base, dataset: o.dataset, limitTrain: o.limitTrain, limitTest: o.limitTest, epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, ...(fromOptions ? { recipe: fromOptions } : {}) };
  }
  const named = recipeNamed(name);
  const budget: Omit<Budget, 'model'> = { dataset: named.dataset, limitTrain: named.limitTrain, limitTest: named.limitTest, epochs: named.epochs, batchSize: named.batchSize, lr: named.lr, seed, name: named.name, recipe: { ...named.recipe, ...fromOptions } };
  for (const key of BUDGET_KEYS) if (given(key)) (budget as Record<string, unknown>)[key] = o[key];
  return { ...base, ...budget };
}
