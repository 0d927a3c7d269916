import { z } from 'zod';

/**
 * A job's training recipe (the optional `recipe` block of a job spec): what a
 * paper's setup fixes beyond the model and the budget. Every field is
 * optional; absent means contsup's default (the data set's augmentation
 * preset and native shape, SGD Nesterov 0.9 with weight decay 1e-4, PyTorch's
 * BN momentum 0.1 / eps 1e-5, per-step cosine), so a job that says nothing
 * trains as before. engine/train/recipe.ts maps it onto the engine.
 */
export const AUGMENT_NAMES = ['none', 'flip', 'crop', 'crop-flip'] as const;
export type AugmentName = (typeof AUGMENT_NAMES)[number];

export const LR_SCHEDULE_NAMES = ['cosine-step', 'cosine-epoch', 'release'] as const;

/** How the auxiliary nets (decoder, heads' hidden width) are built: contsup's way or the release's (docs/fidelity.md). */
export const AUX_NETS_STYLES = ['contsup', 'release'] as const;
export type AuxNetsStyle = (typeof AUX_NETS_STYLES)[number];
export type LrScheduleName = (typeof LR_SCHEDULE_NAMES)[number];

/** Bounds of the recipe's numbers: every real recipe fits; none makes a device allocate or diverge without end. */
export const RECIPE_LIMITS = {
  /** Crop padding per side. */
  pad: 64,
  /** The image reader's range (engine/data/readers/image-folder.ts MIN/MAX_INPUT_SIZE). */
  minInputSize: 4,
  maxInputSize: 512,
  /** Decay above 0.1 per step erases any weight within a few steps. */
  weightDecay: 0.1,
  cosineEpochs: 10_000,
} as const;

export const jobRecipeSchema = z.strictObject({
  augment: z.enum(AUGMENT_NAMES).optional(),
  pad: z.int().min(0).max(RECIPE_LIMITS.pad).optional(),
  /** Built-in sets are zero-padded (centred) to this side; image folders are resized to it. */
  inputSize: z.int().min(RECIPE_LIMITS.minInputSize).max(RECIPE_LIMITS.maxInputSize).optional(),
  /** Grey sets repeated to 3 channels; image folders read as grey (1) or colour (3). */
  channels: z.literal([1, 3]).optional(),
  /** PyTorch's convention: running = (1 - m) * running + m * batch. */
  bnMomentum: z.number().gt(0).max(1).optional(),
  bnEps: z.number().gt(0).lt(1).optional(),
  // Momentum 1 never forgets a gradient: the step grows without bound.
  momentum: z.number().min(0).lt(1).optional(),
  weightDecay: z.number().min(0).max(RECIPE_LIMITS.weightDecay).optional(),
  nesterov: z.boolean().optional(),
  lrSchedule: z.enum(LR_SCHEDULE_NAMES).optional(),
  /** Epochs the `release` schedule's cosine spans; the job's epochs when absent. */
  cosineEpochs: z.int().min(1).max(RECIPE_LIMITS.cosineEpochs).optional(),
  auxNets: z.enum(AUX_NETS_STYLES).optional(),
});
export type JobRecipe = z.infer<typeof jobRecipeSchema>;
