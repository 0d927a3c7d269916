import { describe, expect, it } from 'vitest';
import { modelRecipe, recipeOf, scheduleFor, sgdFor } from '../../../engine/train/recipe.js';

describe('training recipe', () => {
  it("an empty recipe gives today's defaults: Nesterov 0.9, weight decay 1e-4, per-step cosine, PyTorch BN", () => {
    expect(sgdFor({})).toEqual({ momentum: 0.9, weightDecay: 1e-4, nesterov: true });
    expect(scheduleFor({})).toEqual({ name: 'cosine-step' });
    expect(modelRecipe({})).toEqual({});
  });

  it('named fields override only themselves', () => {
    expect(sgdFor({ nesterov: false, weightDecay: 5e-4 })).toEqual({ momentum: 0.9, weightDecay: 5e-4, nesterov: false });
    expect(scheduleFor({ lrSchedule: 'release', cosineEpochs: 160 })).toEqual({ name: 'release', cosineEpochs: 160 });
    expect(modelRecipe({ bnMomentum: 0.01 })).toEqual({ bnMomentum: 0.01 });
  });

  it('picks the recipe fields out of a job spec and leaves the rest', () => {
    const spec = { model: 'resnet32', epochs: 2, augment: 'flip' as const, momentum: 0.5, lrSchedule: 'cosine-epoch' as const };
    expect(recipeOf(spec)).toEqual({ augment: 'flip', momentum: 0.5, lrSchedule: 'cosine-epoch' });
  });
});
