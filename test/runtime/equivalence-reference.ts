import type * as tf from '@tensorflow/tfjs-core';
import type { RecipeOptions } from '../../cli/recipe-options.js';
import { getDataset, modelConfigFor, trainJobSpec, type TrainCommandOptions } from '../../cli/train-command.js';
import { GllNetwork } from '../../engine/model/network.js';
import { InProcessTrainer } from '../../engine/train/gll-trainer.js';
import { trainerSettingsFor } from '../../engine/train/recipe.js';
import type { JobRecipe } from '../../protocol/index.js';
import { cleanups } from '../server/helpers.js';

/** The job spec of the equivalence tests (POST /api/jobs body; also the in-process trainer's options). */
export interface EquivalenceSpec {
  model: 'resnet20';
  modules: number;
  context: string;
  dataset: 'synthetic';
  limitTrain: number;
  limitTest: number;
  batchSize: number;
  epochs: number;
  minDevices: number;
  seed: number;
  lr: number;
  wire: 'float32';
  /** The job spec's recipe block, in the REST words (absent: contsup's defaults). */
  recipe?: Record<string, unknown>;
}

export interface Reference {
  network: GllNetwork;
  /** The recipe as `contsup train` maps the same options (to check it equals the REST one). */
  recipe: JobRecipe | undefined;
  /** The in-process trainer's evaluation of its one epoch. */
  testError: number;
  moduleErrors: Array<number | null>;
  /** The same network untrained (to show that training moved the weights). */
  fresh: GllNetwork;
}

/**
 * Trains `spec` with the in-process trainer on the current backend, mapping
 * its options (recipe included) as `contsup train` does; disposed after the test.
 */
export async function trainReference(spec: EquivalenceSpec): Promise<Reference> {
  const { recipe: recipeInput, ...rest } = spec;
  const cli: TrainCommandOptions = { ...rest, ...(recipeInput as RecipeOptions | undefined), head: '1c2f', loss: 'ce', decoder: false, partition: 'equal', json: false };
  const job = trainJobSpec(cli);
  const opts = { ...cli, recipe: job.recipe };
  const data = await getDataset(opts, () => undefined);
  const network = new GllNetwork(modelConfigFor(opts, data));
  const trainer = new InProcessTrainer(network, { epochs: spec.epochs, batchSize: spec.batchSize, lr: spec.lr, seed: spec.seed, ...trainerSettingsFor(job) });
  const fresh = new GllNetwork(modelConfigFor(opts, data));
  cleanups.push(() => {
    trainer.dispose();
    network.dispose();
    fresh.dispose();
  });
  const [epoch] = await trainer.fit(data);
  return { network, recipe: job.recipe, testError: epoch!.testError, moduleErrors: epoch!.moduleErrors, fresh };
}

export interface Difference {
  /** Largest |a - b| over every value of every parameter, divided by max(1, largest |b| of that parameter). */
  worst: number;
  worstName: string;
}

/**
 * Compares every parameter and BN statistic of `got` with `want` by name (or only the
 * trainable parameters, or only the BN running statistics); `relative` scales each parameter's differences by its largest magnitude (at least 1).
 */
export function compareParams(got: Map<string, tf.Variable>, want: GllNetwork, relative: boolean, which: 'all' | 'trainable' | 'statistics' = 'all'): Difference {
  let worst = 0;
  let worstName = '';
  for (const p of want.store.params) {
    if ((which === 'trainable' && !p.trainable) || (which === 'statistics' && p.trainable)) continue;
    const a = got.get(p.name)!.dataSync();
    const b = p.variable.dataSync();
    if (a.length !== b.length) return { worst: Infinity, worstName: `${p.name} (length ${a.length}, want ${b.length})` };
    let scale = 1;
    if (relative) for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!) / scale;
      if (!(d <= worst)) {
        worst = d;
        worstName = p.name;
      }
    }
  }
  return { worst, worstName };
}

/** True when training changed at least one trainable parameter from its initial value. */
export function trainingMoved(ref: Reference): boolean {
  return ref.network.store.params.filter((p) => p.trainable).some((p) => {
    const a = p.variable.dataSync();
    const b = ref.fresh.store.get(p.name)!.variable.dataSync();
    return a.some((v, i) => v !== b[i]);
  });
}
