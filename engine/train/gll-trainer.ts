import { gatherBatch, type Dataset, type ImageSet, type PreprocessSpec } from '../data/dataset.js';
import { augmentImages } from '../data/preprocess.js';
import type { GllNetwork } from '../model/network.js';
import { batchSeed, epochBatches, evalBatches } from './batch-order.js';
import { disposePrepared, prepareBatch } from './batches.js';
import { DEFAULT_LR_SCHEDULE, scheduledLr, type LrSchedule } from './schedule.js';
import type { SgdOptions } from './sgd.js';
import { StageRunner, disposeStageTensors, type ModuleMetrics } from './stage-runner.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Seeds the shuffle and the augmentation (the weights are seeded by the model config). */
  seed: number;
  sgd?: SgdOptions;
  /** Learning-rate schedule; per-step cosine when absent. */
  schedule?: LrSchedule;
  evalBatchSize?: number;
}

export interface StepReport {
  epoch: number;
  /** Global step, counted from 0 over all epochs. */
  step: number;
  totalSteps: number;
  batchInEpoch: number;
  batchesPerEpoch: number;
  samples: number;
  lr: number;
  metrics: ModuleMetrics[];
}

export interface EvalReport {
  /** The network's test error in percent. */
  testError: number;
  /** Test error of each local head in percent (null where the head does not classify). */
  moduleErrors: Array<number | null>;
  count: number;
}

export interface EpochReport extends EvalReport {
  epoch: number;
  samplesPerSec: number;
  /** Peak bytes of each module's training step (temporaries + its weights and optimiser state). */
  peakBytes: number[];
  /** Mean training loss of each module over the epoch. */
  trainLoss: number[];
}

/**
 * The reference trainer: all K modules in one process, every batch through
 * modules 0..K-1 in order, one optimiser step per module. The distributed
 * runtime must reproduce its weights.
 */
export class InProcessTrainer {
  readonly runner: StageRunner;
  private step = 0;

  constructor(readonly net: GllNetwork, readonly options: TrainOptions) {
    this.runner = new StageRunner(net, 0, net.moduleCount - 1, options.sgd);
  }

  totalSteps(trainCount: number): number {
    return epochBatches(trainCount, this.options.batchSize, this.options.seed, 0).length * this.options.epochs;
  }

  async trainEpoch(train: ImageSet, spec: PreprocessSpec, epoch: number, onStep?: (r: StepReport) => void): Promise<{ samplesPerSec: number; trainLoss: number[] }> {
    const { batchSize, lr, seed } = this.options;
    const batches = epochBatches(train.count, batchSize, seed, epoch);
    const total = this.totalSteps(train.count);
    const lossSum = new Array<number>(this.net.moduleCount).fill(0);
    const shape: [number, number, number] = [train.height, train.width, train.channels];
    let samples = 0;
    const start = performance.now();
    for (let b = 0; b < batches.length; b++) {
      const raw = gatherBatch(train, batches[b]);
      const n = batches[b].length;
      const images = augmentImages(raw.images, n, train.height, train.width, train.channels, spec, batchSeed(seed, epoch, b));
      const batch = prepareBatch(this.net, images, raw.labels, shape, spec);
      const stepLr = scheduledLr(lr, this.options.schedule ?? DEFAULT_LR_SCHEDULE, { step: this.step, totalSteps: total, epoch, epochs: this.options.epochs });
      const { output, metrics } = await this.runner.train(batch.input, batch.labels, batch.target, stepLr, b === 0);
      disposeStageTensors(output);
      disposePrepared(batch);
      samples += n;
      metrics.forEach((m) => (lossSum[m.module] += m.loss));
      onStep?.({ epoch, step: this.step, totalSteps: total, batchInEpoch: b, batchesPerEpoch: batches.length, samples, lr: stepLr, metrics });
      this.step++;
    }
    const seconds = (performance.now() - start) / 1000;
    return { samplesPerSec: samples / seconds, trainLoss: lossSum.map((s) => s / Math.max(1, batches.length)) };
  }

  /** Whole network in inference mode: the network's error and every local head's. */
  async evaluate(test: ImageSet, spec: PreprocessSpec): Promise<EvalReport> {
    const k = this.net.moduleCount;
    const correct = new Array<number>(k).fill(0);
    const classifies = new Array<boolean>(k).fill(true);
    let count = 0;
    const shape: [number, number, number] = [test.height, test.width, test.channels];
    for (const idx of evalBatches(test.count, this.options.evalBatchSize ?? 256)) {
      const raw = gatherBatch(test, idx);
      const batch = prepareBatch(this.net, raw.images, raw.labels, shape, spec);
      const { output, metrics } = await this.runner.evaluate(batch.input, batch.labels, batch.target);
      disposeStageTensors(output);
      disposePrepared(batch);
      for (const m of metrics) {
        if (m.correct === null) classifies[m.module] = false;
        else correct[m.module] += m.correct;
      }
      count += idx.length;
    }
    const err = (m: number): number | null => (classifies[m] ? 100 * (1 - correct[m] / Math.max(1, count)) : null);
    return {
      testError: err(k - 1)!,
      moduleErrors: Array.from({ length: k - 1 }, (_, m) => err(m)),
      count,
    };
  }

  /** Trains for options.epochs, evaluating after each; returns one report per epoch. */
  async fit(data: Dataset, hooks: { onStep?: (r: StepReport) => void; onEpoch?: (r: EpochReport) => void } = {}): Promise<EpochReport[]> {
    const reports: EpochReport[] = [];
    for (let epoch = 1; epoch <= this.options.epochs; epoch++) {
      const t = await this.trainEpoch(data.train, data.preprocess, epoch, hooks.onStep);
      const ev = await this.evaluate(data.test, data.preprocess);
      const report: EpochReport = { epoch, ...ev, samplesPerSec: t.samplesPerSec, peakBytes: [...this.runner.peakBytes], trainLoss: t.trainLoss };
      reports.push(report);
      hooks.onEpoch?.(report);
    }
    return reports;
  }

  dispose(): void {
    this.runner.dispose();
  }
}

