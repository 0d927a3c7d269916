import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../protocol/errors.js';
import { RECIPE_LIMITS } from '../../protocol/job-recipe.js';
import { jobSpecSchema, parseJobSpec } from '../../protocol/job-spec.js';

function refusal(recipe: unknown): string {
  try {
    parseJobSpec({ recipe });
  } catch (err: unknown) {
    if (err instanceof ProtocolError) return err.message;
    throw err;
  }
  throw new Error(`parseJobSpec accepted recipe ${JSON.stringify(recipe)}`);
}

const FULL = {
  augment: 'crop-flip', pad: 4, inputSize: 32, channels: 3, bnMomentum: 0.1, bnEps: 1e-5,
  momentum: 0.9, weightDecay: 1e-4, nesterov: false, lrSchedule: 'release', cosineEpochs: 160, auxNets: 'release',
} as const;

describe('job spec recipe block', () => {
  it('is absent from a spec that names none, so such a job trains as before', () => {
    expect(parseJobSpec({})).not.toHaveProperty('recipe');
  });

  it('keeps every field of a full recipe, and an empty one, as given', () => {
    expect(parseJobSpec({ recipe: FULL }).recipe).toEqual(FULL);
    expect(parseJobSpec({ recipe: {} }).recipe).toEqual({});
    // The wire schema (stage:assign) takes the same block.
    expect(jobSpecSchema.parse({ ...parseJobSpec({}), recipe: FULL }).recipe).toEqual(FULL);
  });

  it.each([
    [{ pad: RECIPE_LIMITS.pad + 1 }, `recipe.pad: value must be <= ${RECIPE_LIMITS.pad}`],
    [{ pad: -1 }, 'recipe.pad: value must be >= 0'],
    [{ inputSize: RECIPE_LIMITS.maxInputSize + 1 }, `recipe.inputSize: value must be <= ${RECIPE_LIMITS.maxInputSize}`],
    [{ inputSize: RECIPE_LIMITS.minInputSize - 1 }, `recipe.inputSize: value must be >= ${RECIPE_LIMITS.minInputSize}`],
    [{ bnMomentum: 0 }, 'recipe.bnMomentum: value must be > 0'],
    [{ bnMomentum: 1.5 }, 'recipe.bnMomentum: value must be <= 1'],
    [{ bnEps: 1 }, 'recipe.bnEps: value must be < 1'],
    [{ momentum: 1 }, 'recipe.momentum: value must be < 1'],
    [{ weightDecay: RECIPE_LIMITS.weightDecay * 2 }, `recipe.weightDecay: value must be <= ${RECIPE_LIMITS.weightDecay}`],
    [{ cosineEpochs: 0 }, 'recipe.cosineEpochs: value must be >= 1'],
  ])('refuses %j naming the limit', (recipe, words) => {
    expect(refusal(recipe)).toContain(words);
  });

  it('refuses unknown names with the allowed ones, and unknown fields', () => {
    expect(refusal({ augment: 'rotate' })).toContain('recipe.augment: got "rotate"; allowed: none, flip, crop, crop-flip');
    expect(refusal({ lrSchedule: 'step' })).toContain('recipe.lrSchedule: got "step"; allowed: cosine-step, cosine-epoch, release');
    expect(refusal({ auxNets: 'paper' })).toContain('recipe.auxNets: got "paper"; allowed: contsup, release');
    expect(refusal({ channels: 2 })).toContain('recipe.channels: got 2; allowed: 1, 3');
    expect(refusal({ nesterov: 'off' })).toContain('recipe.nesterov: expected boolean');
    expect(refusal({ lrSchedul: 'release' })).toContain('unknown field(s) recipe.lrSchedul');
  });
});
