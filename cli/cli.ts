#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { DATASET_NAMES } from '../engine/data/dataset.js';
import { HEAD_NAMES } from '../engine/model/config.js';
import { BLOCKS_PER_STAGE } from '../engine/model/resnet.js';
import { coordinatorCommand } from './coordinator-command.js';
import { reproduceCommand } from './reproduce-command.js';
import { startCommand } from './start-command.js';
import { runTrain, type TrainCommandOptions } from './train-command.js';
import { deviceCommand } from './device-command.js';

function int(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
}

function positive(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${v}"`);
    return n;
  };
}

const program = new Command();
program
  .name('contsup')
  .description('Greedy local learning with Context Supply: train ResNets as K gradient-isolated modules, in one process or across devices.')
  .showHelpAfterError();

program
  .command('train')
  .description('train in one process (the reference semantics of the distributed runtime)')
  .addOption(new Option('--model <name>', 'backbone').choices(Object.keys(BLOCKS_PER_STAGE)).default('resnet32'))
  .option('--modules <K>', 'gradient-isolated modules (1 = end-to-end)', int('--modules', 1), 4)
  .option('--context <mode>', 'context supply: R0, E, R<n>, R<n>E (e.g. R1, R1E)', 'E')
  .addOption(new Option('--loss <name>', 'local loss').choices(['ce', 'supcon']).default('ce'))
  .addOption(new Option('--head <name>', 'local head').choices([...HEAD_NAMES]).default('1c2f'))
  .option('--decoder', 'add the reconstruction decoder to every local loss', false)
  .addOption(new Option('--partition <kind>', 'cut table').choices(['equal', 'memory']).default('equal'))
  .addOption(new Option('--dataset <name>', 'data set').choices([...DATASET_NAMES]).default('synthetic'))
  .option('--data-dir <dir>', 'where data sets are searched and downloaded (default ~/.cache/contsup/datasets)')
  .option('--epochs <n>', 'epochs', int('--epochs', 1), 1)
  .option('--batch-size <n>', 'batch size', int('--batch-size', 2), 128)
  .option('--lr <x>', 'initial learning rate (cosine decay per step)', positive('--lr'), 0.1)
  .option('--limit-train <n>', 'use the first N training images', int('--limit-train', 2))
  .option('--limit-test <n>', 'use the first N test images', int('--limit-test', 1))
  .option('--seed <n>', 'seed for weights, shuffle and augmentation', int('--seed', 0), 1)
  .addOption(new Option('--backend <name>', 'tfjs backend (default: best available)').choices(['tensorflow-gpu', 'tensorflow', 'native', 'wasm', 'cpu']))
  .option('--threads <n>', 'threads of the native backend (default: all cores)', int('--threads', 1))
  .option('--json', 'print one JSON object per line instead of a progress bar', false)
  .action(async (opts: TrainCommandOptions) => {
    await runTrain(opts);
  });

coordinatorCommand(program);
deviceCommand(program);
startCommand(program);

reproduceCommand(program, { int, positive });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`contsup: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
