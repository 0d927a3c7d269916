/**
 * The training-recipe options of `contsup train` and `contsup reproduce`
 * (the job spec's `recipe` block, protocol/job-recipe.ts). They are only
 * parsed here (number, integer); parseJobSpec checks names and ranges, so a
 * bad value gets the words POST /api/jobs uses.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { AUGMENT_NAMES, AUX_NETS_STYLES, LR_SCHEDULE_NAMES, RECIPE_LIMITS } from '../protocol/job-recipe.js';
import { int, num } from './options.js';

/** The recipe as commander hands it over: names unchecked until parseJobSpec. */
export interface RecipeOptions {
  augment?: string;
  pad?: number;
  inputSize?: number;
  channels?: number;
  bnMomentum?: number;
  bnEps?: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
  lrSchedule?: string;
  cosineEpochs?: number;
  auxNets?: string;
}

const RECIPE_KEYS = ['augment', 'pad', 'inputSize', 'channels', 'bnMomentum', 'bnEps', 'momentum', 'weightDecay', 'nesterov', 'lrSchedule', 'cosineEpochs', 'auxNets'] as const satisfies ReadonlyArray<keyof RecipeOptions>;

function onOff(v: string): boolean {
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new InvalidArgumentError(`--nesterov must be on or off, got "${v}"`);
}

/**
 * Adds the recipe options. None has a default: an option not given leaves
 * the field out of the job spec, which then trains as contsup always has.
 * `shape` adds `--input-size`/`--channels` too.
 */
export function addRecipeOptions(cmd: Command, shape: boolean): Command {
  if (shape) {
    cmd
      .option('--input-size <n>', 'side the images are fed at: built-in sets zero-padded (centred) to it, image folders resized to it (default: the set\'s own size; image folders 32)', int('--input-size', RECIPE_LIMITS.minInputSize, RECIPE_LIMITS.maxInputSize))
      .addOption(new Option('--channels <n>', 'channels fed: 3 repeats a grey set to 3; image folders: 3 (colour, default) or 1 (greyscale)').choices(['1', '3']).argParser((v) => (v === '1' ? 1 : 3)));
  }
  return cmd
    .option('--augment <kind>', `augmentation: one of ${AUGMENT_NAMES.join(', ')} (default: the data set's preset)`)
    .option('--pad <n>', 'pixels padded per side before a random crop (with --augment crop or crop-flip)', int('--pad'))
    .option('--bn-momentum <x>', "batch-norm running-statistics momentum, PyTorch's convention (default 0.1)", num('--bn-momentum'))
    .option('--bn-eps <x>', 'batch-norm epsilon (default 1e-5)', num('--bn-eps'))
    .option('--momentum <x>', 'SGD momentum (default 0.9)', num('--momentum'))
    .option('--weight-decay <x>', 'SGD weight decay (default 1e-4)', num('--weight-decay'))
    .option('--nesterov <on|off>', 'Nesterov momentum (default on)', onOff)
    .option('--lr-schedule <name>', `learning-rate schedule: one of ${LR_SCHEDULE_NAMES.join(', ')} (default cosine-step)`)
    .option('--cosine-epochs <n>', "epochs the release schedule's cosine spans (default: --epochs)", int('--cosine-epochs'))
    .option('--aux-nets <style>', `auxiliary nets: ${AUX_NETS_STYLES.join(' or ')} (release: decoder with biases and align_corners=True, heads' hidden width x widen; default contsup)`);
}

/** The recipe fields the options name (none: undefined, so the job spec has no recipe block). */
export function recipeInput(o: RecipeOptions): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const k of RECIPE_KEYS) if (o[k] !== undefined) out[k] = o[k];
  return Object.keys(out).length === 0 ? undefined : out;
}
