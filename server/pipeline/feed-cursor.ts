import type { JobProgress, Phase } from '../../protocol/index.js';
import { EvalTally } from './eval-tally.js';
import type { FedBatch, Feeder } from './feeder.js';

/**
 * Where a job is in its schedule (runtime.md steps 3-6): epoch, phase, the
 * next batch to feed and how far the last stage has acknowledged. Train
 * batches of an epoch, then its test set, then the next epoch; each phase
 * starts only once the previous one is acknowledged in full.
 */
export class FeedCursor {
  /** 1-based. */
  epoch = 1;
  phase: Phase = 'train';
  private nextIndex = 0;
  private ackedTrain = 0;
  private evalAcked = 0;
  tally = new EvalTally();
  /** The last epoch is evaluated: nothing more to feed. */
  finished = false;

  constructor(
    readonly feeder: Feeder,
    private readonly epochs: number,
  ) {}

  /** The next batch for stage 0, or undefined at a phase barrier. */
  next(): FedBatch | undefined {
    const f = this.feeder;
    if (this.finished) return undefined;
    if (this.phase === 'train') return this.nextIndex < f.batchesPerEpoch ? f.train(this.epoch, this.nextIndex++) : undefined;
    return this.nextIndex < f.evalBatchCount ? f.eval(this.epoch, this.nextIndex++) : undefined;
  }

  /** The last stage finished train batch `index` (in order); the epoch's last one opens evaluation. */
  ackTrain(index: number): void {
    this.ackedTrain = index + 1;
    if (this.ackedTrain >= this.feeder.batchesPerEpoch) {
      this.phase = 'eval';
      this.nextIndex = 0;
      this.evalAcked = 0;
      this.tally = new EvalTally();
    }
  }

  /** The last stage finished an eval batch; true when the epoch's evaluation is complete. */
  ackEval(): boolean {
    this.evalAcked++;
    return this.evalAcked >= this.feeder.evalBatchCount;
  }

  /** Moves to the next epoch after an evaluation; false (and finished) after the last one. */
  nextEpoch(): boolean {
    if (this.epoch >= this.epochs) {
      this.finished = true;
      return false;
    }
    this.epoch++;
    this.phase = 'train';
    this.nextIndex = 0;
    this.ackedTrain = 0;
    return true;
  }

  /**
   * After a pause: train resumes at the first batch the last stage had not
   * acknowledged; evaluation starts over (its partial counts are dropped).
   */
  rewind(): void {
    if (this.phase === 'train') this.nextIndex = this.ackedTrain;
    else {
      this.nextIndex = 0;
      this.evalAcked = 0;
      this.tally = new EvalTally();
    }
  }

  /**
   * A rollback (recovery.ts): training resumes at global step `step`, the
   * first one the restored checkpoints do not hold. At an epoch boundary the
   * epoch just trained is evaluated first unless `boundaryEvaluated`.
   */
  rollTo(step: number, boundaryEvaluated: boolean): void {
    const per = this.feeder.batchesPerEpoch;
    const epoch = Math.floor(step / per) + 1;
    const index = step % per;
    this.tally = new EvalTally();
    this.evalAcked = 0;
    this.finished = false;
    if (index === 0 && epoch > 1 && !boundaryEvaluated) {
      this.epoch = epoch - 1;
      this.phase = 'eval';
      this.nextIndex = 0;
      this.ackedTrain = per;
      return;
    }
    this.epoch = epoch;
    this.phase = 'train';
    this.nextIndex = index;
    this.ackedTrain = index;
    if (epoch > this.epochs) this.finished = true;
  }

  /** Global step feeding resumes at. */
  resumeStep(): number {
    const f = this.feeder;
    return this.phase === 'train' ? f.stepOf(this.epoch, this.ackedTrain) : f.stepOf(this.epoch + 1, 0);
  }

  describe(): string {
    return `epoch ${this.epoch} ${this.phase} batch ${this.nextIndex}`;
  }

  progress(): JobProgress {
    const f = this.feeder;
    return {
      epoch: this.epoch,
      phase: this.phase,
      batchesPerEpoch: f.batchesPerEpoch,
      evalBatches: f.evalBatchCount,
      totalSteps: f.totalSteps,
      stepsDone: this.phase === 'eval' || this.finished ? f.stepOf(this.epoch + 1, 0) : f.stepOf(this.epoch, this.ackedTrain),
    };
  }
}
