import type { StageInput, StageView } from '../../protocol/index.js';
import type { OutputExpectation } from './job-model.js';

// Smooths the per-batch service time over roughly the last 5 batches.
const EMA = 0.2;

/** One stage of a running job: its device, credits, inbox queue and counters. */
export class StageState {
  ready = false;
  lost = false;
  /** batchId -> time the input was sent. */
  readonly inFlight = new Map<number, number>();
  /** Inputs for this stage (outputs of the previous one) waiting for a credit. */
  queue: StageInput[] = [];
  samples = 0;
  samplesPerSec = 0;
  bytesIn = 0;
  bytesOut = 0;
  measuredMs: number | null = null;
  /** Training answers and the sum of their service times after the first (docs: meanTrainMsPerBatch). */
  private trainAnswers = 0;
  private trainServiceMs = 0;
  lastCheckpointStep: number | null = null;
  /** Deadlines this stage missed (docs/runtime.md, deadlines), in all and since its last answer. */
  missedDeadlines = 0;
  missedInARow = 0;
  /**
   * Global steps [from, to) this stage's modules never trained on: it was
   * restored from a checkpoint older than the step feeding resumed at.
   */
  readonly missedSteps: Array<{ from: number; to: number }> = [];
  /** Steps [from, to) this stage's modules trained on twice: fed again after a fault downstream. */
  readonly repeatedSteps: Array<{ from: number; to: number }> = [];
  /** Highest training step sent to the current device (it trains what it is sent), -1 before any. */
  fedUpTo = -1;
  /**
   * Batches whose output reached the next stage directly (stage:arrived)
   * before this stage's own metrics/eval for them came: those still count.
   */
  readonly reportsDue = new Set<number>();
  /**
   * When the device was sent the stage:assign the coordinator waits on;
   * null once it reported ready, or when a pause drops the wait (the
   * rollback's assignments start new ones). Bounded by deadlines.ts overdueReadiness.
   */
  assignedAt: number | null = null;
  /** The step a re-plan rebuilds this stage from (rebalance.ts), while it does: a shorter readiness bound. */
  rebuildStep: number | null = null;
  /** Answers refused since the last accepted one. */
  refusedInARow = 0;
  private lastAnswerAt = 0;
  /** A missed deadline starts the next one from when it was missed. */
  private missedAt = 0;

  constructor(
    readonly index: number,
    public deviceId: string,
    readonly firstModule: number,
    readonly lastModule: number,
    readonly estimatedMs: number,
    readonly expect: OutputExpectation,
    readonly maxFrameBytes: number,
  ) {}

  /** Forgets everything in flight (a pause): those batches are fed again. */
  clearTraffic(): void {
    this.inFlight.clear();
    this.queue = [];
    this.reportsDue.clear();
    this.lastAnswerAt = 0;
    this.missedAt = 0;
    this.missedInARow = 0;
    this.refusedInARow = 0;
  }

  /**
   * Since when the device owes its oldest in-flight batch: it was sent, the
   * previous answer came, or the last deadline was missed, whichever is
   * later; null with nothing in flight.
   */
  owedSince(): number | null {
    const oldest = this.inFlight.values().next();
    if (oldest.done) return null;
    return Math.max(oldest.value, this.lastAnswerAt, this.missedAt);
  }

  /** The oldest batch in flight missed its deadline at `now`. */
  missed(now: number): void {
    this.missedDeadlines++;
    this.missedInARow++;
    this.missedAt = now;
  }

  /**
   * Marks `batchId` answered. The device works through its inbox in order, so
   * a batch's service time runs from when it was sent or when the previous
   * answer came, whichever is later.
   */
  answered(batchId: number, now: number, phase: 'train' | 'eval'): void {
    const sentAt = this.inFlight.get(batchId) ?? now;
    this.inFlight.delete(batchId);
    const ms = now - Math.max(sentAt, this.lastAnswerAt);
    this.lastAnswerAt = now;
    this.missedInARow = 0;
    this.refusedInARow = 0;
    this.measuredMs = this.measuredMs === null ? ms : this.measuredMs + EMA * (ms - this.measuredMs);
    if (phase === 'train' && this.trainAnswers++ > 0) this.trainServiceMs += ms;
  }

  /** `stepsDone`: training steps the last stage acknowledged; this stage trained those less the missed ones. */
  view(stepsDone: number): StageView {
    const missed = this.missedSteps.reduce((n, r) => n + Math.max(0, Math.min(r.to, stepsDone) - r.from), 0);
    return {
      stage: this.index,
      deviceId: this.deviceId,
      firstModule: this.firstModule,
      lastModule: this.lastModule,
      ready: this.ready,
      lost: this.lost,
      samples: this.samples,
      samplesPerSec: this.samplesPerSec,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      inFlight: this.inFlight.size,
      queued: this.queue.length,
      estimatedMsPerBatch: this.estimatedMs,
      measuredMsPerBatch: this.measuredMs,
      meanTrainMsPerBatch: this.trainAnswers > 1 ? this.trainServiceMs / (this.trainAnswers - 1) : null,
      lastCheckpointStep: this.lastCheckpointStep,
      missedDeadlines: this.missedDeadlines,
      trainedSteps: Math.max(0, stepsDone - missed),
      missedSteps: this.missedSteps.map((r) => ({ ...r })),
      repeatedSteps: this.repeatedSteps.map((r) => ({ ...r })),
      refusedInARow: this.refusedInARow,
    };
  }
}
