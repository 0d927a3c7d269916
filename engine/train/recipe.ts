/**
 * A training recipe: everything a paper's setup fixes beyond the model and the
 * budget. Every field is optional and absent means today's default, so the
 * CLI, the job spec (same field names) and the distributed runtime all map a
 * recipe onto the engine through these functions and cannot disagree.
 */
import type { DataRecipe } from '../data/recipe.js';
import type { AuxNetsStyle, ModelConfig } from '../model/config.js';
import type { LrScheduleName } from './schedule.js';
import { scheduleFor, type LrSchedule } from './schedule.js';
import { DEFAULT_SGD, type SgdOptions } from './sgd.js';
export { scheduleFor };

export interface TrainingRecipe extends DataRecipe {
  bnMomentum?: number;
  bnEps?: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
  lrSchedule?: LrScheduleName;
  /** Epochs the `release` schedule's cosine spans (the release's 160); the run's epochs when absent. */
  cosineEpochs?: number;
  /** Auxiliary nets built contsup's way (default) or the release's (ModelConfig.auxNets). */
  auxNets?: AuxNetsStyle;
}

export function sgdFor(r: TrainingRecipe): SgdOptions {
  return {
    momentum: r.momentum ?? DEFAULT_SGD.momentum,
    weightDecay: r.weightDecay ?? DEFAULT_SGD.weightDecay,
    nesterov: r.nesterov ?? DEFAULT_SGD.nesterov,
  };
}

/** The model-config fields a recipe sets (only those it names). */
export function modelRecipe(r: TrainingRecipe): Pick<ModelConfig, 'bnMomentum' | 'bnEps' | 'auxNets'> {
  const out: Pick<ModelConfig, 'bnMomentum' | 'bnEps' | 'auxNets'> = {};
  if (r.bnMomentum !== undefined) out.bnMomentum = r.bnMomentum;
  if (r.bnEps !== undefined) out.bnEps = r.bnEps;
  if (r.auxNets !== undefined) out.auxNets = r.auxNets;
  return out;
}

/** Picks the recipe fields out of a larger object (a job spec, CLI options). */
export function recipeOf(o: TrainingRecipe): TrainingRecipe {
  const keys: Array<keyof TrainingRecipe> = ['augment', 'pad', 'inputSize', 'channels', 'bnMomentum', 'bnEps', 'momentum', 'weightDecay', 'nesterov', 'lrSchedule', 'cosineEpochs', 'auxNets'];
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out as TrainingRecipe;
}

/** How a trainer steps under a job's recipe: the optimiser and the lr schedule. */
export interface TrainerSettings {
  sgd: SgdOptions;
  schedule: LrSchedule;
}

/**
 * The one mapping from a job spec (its optional `recipe`) to trainer
 * settings: the device's StageHost and the in-process trainer both call it,
 * so a distributed job steps exactly like `contsup train` with the same recipe.
 */
export function trainerSettingsFor(spec: { recipe?: TrainingRecipe }): TrainerSettings {
  const recipe = spec.recipe ?? {};
  return { sgd: sgdFor(recipe), schedule: scheduleFor(recipe) };
}
