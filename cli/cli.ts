#!/usr/bin/env node
import { Command, Option } from 'commander';
import { NODE_BACKEND_NAMES } from '../engine/backend/backend-names.js';
import { TRAIN_DEFAULTS } from '../protocol/defaults.js';
import { DATASET_NAMES, HEAD_NAMES, LOSS_NAMES, MODEL_NAMES, PARTITION_KINDS } from '../protocol/names.js';
import { coordinatorCommand } from './coordinator-command.js';
import { addRecipeOptions } from './recipe-options.js';
import { datasetArg, int, num } from './options.js';
import { reproduceCommand } from './reproduce-command.js';
import { startCommand } from './start-command.js';
import type { TrainCommandOptions } from './train-command.js';
import { deviceCommand } from './device-command.js';
import { exportCommand } from './export-command.js';

const one = (names: readonly string[]): string => `one of ${names.join(', ')}`;

const program = new Command();
program
  .name('contsup')
  .description('Greedy local learning with Context Supply: train ResNets as K gradient-isolated modules, in one process or across devices.')
  .showHelpAfterError();

// Job-spec fields are only parsed here (number, integer); runTrain checks them
// with parseJobSpec, so a bad value gets the words POST /api/jobs uses.
const d = TRAIN_DEFAULTS;
const train = program
  .command('train')
  .description('train in one process (the reference semantics of the distributed runtime)')
  .option('--model <name>', `backbone: ${one(MODEL_NAMES)}`, d.model)
  .option('--modules <K>', 'gradient-isolated modules (1 = end-to-end)', int('--modules'), d.modules)
  .option('--context <mode>', 'context supply: R0, E, R<n>, R<n>E (e.g. R1, R1E)', d.context)
  .option('--loss <name>', `local loss: ${one(LOSS_NAMES)}`, d.loss)
  .option('--head <name>', `local head: ${one(HEAD_NAMES)}`, d.head)
  .option('--decoder', 'add the reconstruction decoder to every local loss', d.decoder)
  .option('--partition <kind>', `cut table: ${one(PARTITION_KINDS)}`, d.partition)
  .option('--dataset <name>', `data set: ${one(DATASET_NAMES)}, or folder:PATH (PATH/train/<class>/*.png|jpg, PATH/test/<class>/*)`, datasetArg, d.dataset)
  .option('--data-dir <dir>', 'where data sets are searched and downloaded, and image folders cached (default ~/.cache/contsup/datasets)')
  .option('--epochs <n>', 'epochs', int('--epochs'), d.epochs)
  .option('--batch-size <n>', 'batch size', int('--batch-size'), d.batchSize)
  .option('--lr <x>', 'initial learning rate (cosine decay per step)', num('--lr'), d.lr)
  .option('--limit-train <n>', 'use the first N training images', int('--limit-train'))
  .option('--limit-test <n>', 'use the first N test images', int('--limit-test'))
  .option('--seed <n>', 'seed for weights, shuffle and augmentation', int('--seed'), d.seed)
  .addOption(new Option('--backend <name>', 'tfjs backend (default: best available)').choices(NODE_BACKEND_NAMES))
  .option('--threads <n>', 'threads of the native backend (default: all cores)', int('--threads', 1))
  .option('--json', 'print one JSON object per line instead of a progress bar', false);
addRecipeOptions(train, true)
  .action(async (opts: TrainCommandOptions) => {
    // Loaded on use, like every tfjs-backed command: `contsup coordinator` never loads tfjs.
    const { runTrain } = await import('./train-command.js');
    await runTrain(opts);
  });

coordinatorCommand(program);
deviceCommand(program);
startCommand(program);
exportCommand(program);
reproduceCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`contsup: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
