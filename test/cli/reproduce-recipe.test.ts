import { describe, expect, it } from 'vitest';
import { budgetOf, markdownTable } from '../../cli/reproduce-command.js';
import { recipeNamed } from '../../cli/recipes.js';
import { REPRODUCE_DEFAULTS } from '../../protocol/defaults.js';

const DEFAULT_OPTIONS = { ...REPRODUCE_DEFAULTS, dataset: 'fashion-mnist' as const };

describe('contsup reproduce --recipe', () => {
  it('without --recipe keeps the options as the budget and adds no recipe', () => {
    const b = budgetOf(DEFAULT_OPTIONS, () => false);
    expect(b).toMatchObject({ dataset: 'fashion-mnist', limitTrain: 4000, limitTest: 1000, epochs: 1, batchSize: 32, lr: 0.1 });
    expect(b).not.toHaveProperty('recipe');
    expect(b).not.toHaveProperty('name');
  });

  it("takes the named recipe's budget and recipe in place of the defaults", () => {
    const named = recipeNamed('fmnist-quick');
    const b = budgetOf({ ...DEFAULT_OPTIONS, recipe: 'fmnist-quick' }, () => false);
    expect(b).toMatchObject({ name: 'fmnist-quick', dataset: 'fashion-mnist', limitTrain: 2000, limitTest: 2000, epochs: 1, batchSize: 64, lr: 0.1 });
    expect(b.recipe).toEqual(named.recipe);
  });

  it('lets options given on the command line override the named recipe', () => {
    const b = budgetOf({ ...DEFAULT_OPTIONS, epochs: 3, weightDecay: 5e-4, recipe: 'fmnist-release' }, (key) => key === 'epochs');
    expect(b.epochs).toBe(3);
    expect(b.limitTrain).toBe(10000);
    expect(b.recipe).toEqual({ augment: 'none', inputSize: 32, channels: 3, weightDecay: 5e-4 });
  });

  it('refuses an unknown recipe naming the known ones', () => {
    expect(() => budgetOf({ ...DEFAULT_OPTIONS, recipe: 'nope' }, () => false)).toThrow(/unknown recipe "nope": use one of fmnist-release, fmnist-quick/);
  });

  it('prints the budget and the recipe name above the table', () => {
    const b = budgetOf({ ...DEFAULT_OPTIONS, recipe: 'fmnist-quick' }, () => false);
    const md = markdownTable({ budget: { ...b, model: 'resnet32' }, backend: 'wasm', runs: [{ modules: 1, context: 'R0', testError: 12.5, moduleErrors: [], samplesPerSec: 1, seconds: 1 }] });
    expect(md.split('\n')[0]).toBe('recipe fmnist-quick: fashion-mnist as 32x32x3, 2000 train / 2000 test images, 1 epoch(s), batch 64, lr 0.1 (cosine-step), augment none');
    expect(md).toContain('| E2E (K = 1) | 12.50 | 12.50 | 12.50 | 12.50 |');
  });
});
