/**
 * Data side of a training recipe: augmentation, crop padding and the input
 * shape the network sees. Every field is optional; what is not said keeps the
 * data set's preset (PREPROCESS) and native shape.
 */
import type { Dataset, PreprocessSpec } from './dataset.js';
import { fitImageSet, fitPreprocess } from './fit-input.js';

import { AUGMENT_NAMES, type AugmentName } from '../../protocol/job-recipe.js';
export { AUGMENT_NAMES, type AugmentName };

export interface DataRecipe {
  augment?: AugmentName;
  /** Pixels padded on every side before a random crop (only with crop); the preset's pad, or 4, when absent. */
  pad?: number;
  /** Images zero-padded (centred) to inputSize x inputSize. */
  inputSize?: number;
  /** Grey images repeated to this many channels. */
  channels?: number;
}

/** The preset with the recipe's augmentation applied. */
export function augmentSpec(base: PreprocessSpec, augment: AugmentName | undefined, pad: number | undefined): PreprocessSpec {
  if (augment === undefined) return pad === undefined ? base : { ...base, pad };
  if (!(AUGMENT_NAMES as readonly string[]).includes(augment)) throw new Error(`unknown augment "${String(augment)}": use one of ${AUGMENT_NAMES.join(', ')}`);
  const crop = augment === 'crop' || augment === 'crop-flip';
  const flip = augment === 'flip' || augment === 'crop-flip';
  return { ...base, pad: crop ? (pad ?? (base.pad > 0 ? base.pad : 4)) : 0, flip };
}

/** The data set as the recipe feeds it: reshaped images and the matching normalisation and augmentation. */
export function applyDataRecipe(data: Dataset, recipe: DataRecipe): Dataset {
  const size = recipe.inputSize ?? data.train.height;
  const channels = recipe.channels ?? data.train.channels;
  const shape = { size, channels };
  const train = fitImageSet(data.train, shape);
  const test = fitImageSet(data.test, shape);
  const preprocess = augmentSpec(fitPreprocess(data.preprocess, channels), recipe.augment, recipe.pad);
  return { ...data, train, test, preprocess };
}

/**
 * What `loadDataset` needs to know of a recipe: image folders are read
 * (resized) straight at the recipe's size and channels; built-in sets ignore
 * these and are padded afterwards by applyDataRecipe.
 */
export function folderShapeFor(recipe: DataRecipe): { inputSize?: number; channels?: 1 | 3 } {
  const out: { inputSize?: number; channels?: 1 | 3 } = {};
  if (recipe.inputSize !== undefined) out.inputSize = recipe.inputSize;
  if (recipe.channels !== undefined) {
    if (recipe.channels !== 1 && recipe.channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${recipe.channels}`);
    out.channels = recipe.channels;
  }
  return out;
}
