/**
 * Named recipes for `contsup reproduce --recipe NAME`: a budget (data set,
 * images, epochs, batch, lr) plus a training recipe, so a printed table always
 * says what it was trained under.
 */
import type { DatasetName } from '../protocol/names.js';
import type { TrainingRecipe } from '../engine/train/recipe.js';

export interface NamedRecipe {
  name: string;
  description: string;
  dataset: DatasetName;
  /** Undefined = the whole split. */
  limitTrain?: number;
  limitTest?: number;
  epochs: number;
  batchSize: number;
  lr: number;
  recipe: TrainingRecipe;
}

export const RECIPES: readonly NamedRecipe[] = [
  {
    name: 'fmnist-release',
    description: "issue 13's budget, fed as the release is: Fashion-MNIST zero-padded to 32x32x3, no augmentation, 10,000/10,000 images, 2 epochs, batch 64, lr 0.1 with per-step cosine",
    dataset: 'fashion-mnist', limitTrain: 10000, limitTest: 10000, epochs: 2, batchSize: 64, lr: 0.1,
    recipe: { augment: 'none', inputSize: 32, channels: 3 },
  },
  {
    name: 'fmnist-quick',
    description: 'a small version of fmnist-release for a 2-core machine: 2,000/2,000 images, 1 epoch',
    dataset: 'fashion-mnist', limitTrain: 2000, limitTest: 2000, epochs: 1, batchSize: 64, lr: 0.1,
    recipe: { augment: 'none', inputSize: 32, channels: 3 },
  },
  {
    name: 'fmnist-contsup',
    description: "contsup's own Fashion-MNIST preset: 28x28x1 with random flips, 4,000/1,000 images, 1 epoch, batch 32, lr 0.1",
    dataset: 'fashion-mnist', limitTrain: 4000, limitTest: 1000, epochs: 1, batchSize: 32, lr: 0.1,
    recipe: {},
  },
  {
    name: 'cifar10-paper',
    description: "the paper's CIFAR-10 runs: whole set, reflect-pad 4 + crop + flip, 160 epochs, batch 1024, lr 0.8 with the release's warm-up and per-epoch cosine",
    dataset: 'cifar10', epochs: 160, batchSize: 1024, lr: 0.8,
    recipe: { augment: 'crop-flip', pad: 4, lrSchedule: 'release', cosineEpochs: 160 },
  },
];

export function recipeNamed(name: string): NamedRecipe {
  const r = RECIPES.find((x) => x.name === name);
  if (!r) throw new Error(`unknown recipe "${name}": use one of ${RECIPES.map((x) => x.name).join(', ')}`);
  return r;
}

/** One line naming the budget, printed above every table. */
export function describeBudget(r: Pick<NamedRecipe, 'dataset' | 'limitTrain' | 'limitTest' | 'epochs' | 'batchSize' | 'lr' | 'recipe'> & { name?: string }): string {
  const shape = r.recipe.inputSize ? ` as ${r.recipe.inputSize}x${r.recipe.inputSize}x${r.recipe.channels ?? '?'}` : '';
  const parts = [
    `${r.dataset}${shape}`,
    `${r.limitTrain ?? 'all'} train / ${r.limitTest ?? 'all'} test images`,
    `${r.epochs} epoch(s)`,
    `batch ${r.batchSize}`,
    `lr ${r.lr} (${r.recipe.lrSchedule ?? 'cosine-step'})`,
    `augment ${r.recipe.augment ?? 'preset'}`,
  ];
  return `${r.name ? `recipe ${r.name}: ` : ''}${parts.join(', ')}`;
}
