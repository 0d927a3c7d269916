import { gatherBatch, type Dataset } from '../../engine/data/dataset.js';
import { batchSeed, epochBatches, evalBatches } from '../../engine/train/batch-order.js';
import { scheduleFor, scheduledLr, type LrSchedule } from '../../engine/train/schedule.js';
import { encodeFrame, type JobSpec, type Phase, type TensorFrame } from '../../protocol/index.js';

/** One batch as the feeder hands it to stage 0 (the header fields it decides). */
export interface FedBatch {
  phase: Phase;
  /** 1-based epoch. */
  epoch: number;
  /** Index of the batch within its phase of the epoch. */
  index: number;
  step: number;
  n: number;
  images: TensorFrame;
  labels: TensorFrame;
  augmentSeed?: number;
  lr?: number;
  checkpointAfter?: boolean;
}

/**
 * The batches of a job, exactly as the in-process trainer draws them:
 * `epochBatches` order, `batchSeed` augmentation, the recipe's lr schedule
 * (`scheduledLr`, per-step cosine by default) per global step,
 * `evalBatches` (at the job's batch size) for the test set.
 */
export class Feeder {
  readonly batchesPerEpoch: number;
  readonly totalSteps: number;
  readonly evalBatchCount: number;
  private cachedEpoch = -1;
  private cached: Uint32Array[] = [];
  private readonly evalOrder: Uint32Array[];
  private readonly schedule: LrSchedule;

  constructor(
    private readonly spec: JobSpec,
    private readonly data: Dataset,
  ) {
    this.batchesPerEpoch = epochBatches(data.train.count, spec.batchSize, spec.seed, 1).length;
    this.totalSteps = this.batchesPerEpoch * spec.epochs;
    this.evalOrder = evalBatches(data.test.count, spec.batchSize);
    this.evalBatchCount = this.evalOrder.length;
    this.schedule = scheduleFor(spec.recipe ?? {});
  }

  get testCount(): number {
    return this.data.test.count;
  }

  /** Global step of batch `index` of epoch `epoch` (1-based). */
  stepOf(epoch: number, index: number): number {
    return (epoch - 1) * this.batchesPerEpoch + index;
  }

  train(epoch: number, index: number): FedBatch {
    if (this.cachedEpoch !== epoch) {
      this.cached = epochBatches(this.data.train.count, this.spec.batchSize, this.spec.seed, epoch);
      this.cachedEpoch = epoch;
    }
    const idx = this.cached[index];
    if (!idx) throw new Error(`epoch ${epoch} has ${this.cached.length} batches, asked for batch ${index}`);
    const step = this.stepOf(epoch, index);
    const every = this.spec.checkpointEvery;
    const lastOfEpoch = index === this.batchesPerEpoch - 1;
    return {
      ...this.frames(this.data.train, idx),
      phase: 'train',
      epoch,
      index,
      step,
      augmentSeed: batchSeed(this.spec.seed, epoch, index),
      lr: scheduledLr(this.spec.lr, this.schedule, { step, totalSteps: this.totalSteps, epoch, epochs: this.spec.epochs }),
      checkpointAfter: lastOfEpoch || (every > 0 && (step + 1) % every === 0),
    };
  }

  eval(epoch: number, index: number): FedBatch {
    const idx = this.evalOrder[index];
    if (!idx) throw new Error(`the test set has ${this.evalBatchCount} batches, asked for batch ${index}`);
    // Eval batches belong to the epoch just trained: its last step + 1.
    return { ...this.frames(this.data.test, idx), phase: 'eval', epoch, index, step: this.stepOf(epoch + 1, 0) };
  }

  private frames(set: Dataset['train'], idx: Uint32Array): { n: number; images: TensorFrame; labels: TensorFrame } {
    const { images, labels } = gatherBatch(set, idx);
    const n = idx.length;
    return {
      n,
      images: encodeFrame(images, [n, set.height, set.width, set.channels], 'uint8'),
      labels: encodeFrame(labels, [n], 'uint8'),
    };
  }
}
