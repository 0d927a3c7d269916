import { describe, expect, it } from 'vitest';
import { modelRecipe, recipeOf, scheduleFor, sgdFor, trainerSettingsFor } from '../../../engine/train/recipe.js';
import { modelConfigForJob } from '../../../engine/model/job-config.js';
import { parseJobSpec } from '../../../protocol/job-spec.js';

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

  it("maps a job spec's recipe onto the trainer and the model (what every StageHost builds), defaults without one", () => {
    const plain = parseJobSpec({});
    expect(trainerSettingsFor(plain)).toEqual({ sgd: { momentum: 0.9, weightDecay: 1e-4, nesterov: true }, schedule: { name: 'cosine-step' } });
    const spec = parseJobSpec({ recipe: { momentum: 0.5, nesterov: false, lrSchedule: 'release', cosineEpochs: 160, bnMomentum: 0.3, bnEps: 1e-3 } });
    expect(trainerSettingsFor(spec)).toEqual({ sgd: { momentum: 0.5, weightDecay: 1e-4, nesterov: false }, schedule: { name: 'release', cosineEpochs: 160 } });
    const data = { height: 32, width: 32, channels: 3, numClasses: 10, preprocess: { mean: [0, 0, 0], std: [1, 1, 1], pad: 0, padMode: 'zero' as const, flip: false } };
    expect(modelConfigForJob(spec, data)).toMatchObject({ bnMomentum: 0.3, bnEps: 1e-3 });
    const config = modelConfigForJob(plain, data);
    expect(config).not.toHaveProperty('bnMomentum');
    expect(config).not.toHaveProperty('bnEps');
  });
});
