import * as tf from '@tensorflow/tfjs-core';
import type { GllNetwork } from '../model/network.js';
import { ModuleTrainer, type ModuleEvalResult, type ModuleStepResult } from './module-trainer.js';
import type { SgdOptions } from './sgd.js';

/** What flows across a cut: h, the image (E context) and recent module inputs (R context). */
export interface StageTensors {
  h: tf.Tensor4D;
  image: tf.Tensor4D | null;
  /** Combined inputs of the most recent modules, oldest first (at most the mode's n). */
  history: tf.Tensor4D[];
}

export interface ModuleMetrics {
  module: number;
  loss: number;
  correct: number | null;
  count: number;
}

export interface StageResult {
  /**
   * What the next stage needs. Entries may alias the input's tensors (e.g. the
   * image). The caller disposes input and output when done with both
   * (`disposeStageTensors`); tfjs ignores a second dispose of the same tensor.
   */
  output: StageTensors;
  metrics: ModuleMetrics[];
}

export function disposeStageTensors(t: StageTensors): void {
  tf.dispose([t.h, ...t.history]);
  if (t.image) t.image.dispose();
}

/**
 * Runs a contiguous range of modules on one batch: the unit of work of one
 * device in the pipeline, and (over all modules) the in-process trainer's step.
 * Both use this class, so the distributed run and the reference share one code path.
 */
export class StageRunner {
  readonly trainers: ModuleTrainer[] = [];
  /** Peak bytes per module during its last profiled training step (0 until profiled). */
  readonly peakBytes: number[];

  constructor(readonly net: GllNetwork, readonly first: number, readonly last: number, sgd?: SgdOptions) {
    if (first < 0 || last >= net.moduleCount || first > last) {
      throw new Error(`stage modules ${first}..${last} do not fit a network of ${net.moduleCount} modules`);
    }
    for (let k = first; k <= last; k++) this.trainers.push(new ModuleTrainer(net, k, sgd));
    this.peakBytes = this.trainers.map(() => 0);
  }

  /**
   * One training step of every module in the stage, in order. With `profile`,
   * each module's peak tensor bytes (step temporaries + its own weights and
   * optimiser state) are measured with tf.profile.
   */
  async train(input: StageTensors, labels: tf.Tensor1D, target: tf.Tensor4D | null, lr: number, profile = false): Promise<StageResult> {
    return this.run(input, async (t, i, cur) => {
      // Async reads: a WebGPU device cannot read tensors synchronously.
      if (!profile) return t.stepAsync(cur, labels, target, lr);
      const before = tf.memory().numBytes;
      let res: ModuleStepResult | null = null;
      const info = await tf.profile(async () => {
        res = await t.stepAsync(cur, labels, target, lr);
      });
      this.peakBytes[i] = Math.max(0, info.peakBytes - before) + t.stateBytes;
      return res!;
    });
  }

  /** Inference-mode pass of every module in the stage (evaluation: no update). */
  async evaluate(input: StageTensors, labels: tf.Tensor1D, target: tf.Tensor4D | null): Promise<StageResult> {
    return this.run(input, async (t, _i, cur) => t.evaluateAsync(cur, labels, target));
  }

  private async run(
    input: StageTensors,
    stepOne: (t: ModuleTrainer, i: number, cur: StageTensors) => Promise<ModuleStepResult | ModuleEvalResult>,
  ): Promise<StageResult> {
    const recent = this.net.historyLength;
    const created: tf.Tensor[] = [];
    const metrics: ModuleMetrics[] = [];
    let cur = input;
    for (let i = 0; i < this.trainers.length; i++) {
      const t = this.trainers[i];
      const r = await stepOne(t, i, cur);
      created.push(r.features, r.combined);
      metrics.push({ module: t.k, loss: r.loss, correct: r.correct, count: r.count });
      cur = {
        h: r.features,
        image: cur.image,
        history: recent > 0 ? [...cur.history, r.combined].slice(-recent) : [],
      };
    }
    // Free what this stage made and no longer needs; never what the caller gave us.
    const keep = new Set<tf.Tensor>([cur.h, ...cur.history, input.h, ...input.history]);
    if (input.image) keep.add(input.image);
    for (const t of created) if (!keep.has(t)) t.dispose();
    return { output: cur, metrics };
  }

  dispose(): void {
    for (const t of this.trainers) t.dispose();
  }
}
