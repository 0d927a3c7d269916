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
  lastCheckpointStep: number | null = null;
  private lastAnswerAt = 0;

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
    this.lastAnswerAt = 0;
  }

  /**
   * Marks `batchId` answered. The device works through its inbox in order, so
   * a batch's service time runs from when it was sent or when the previous
   * answer came, whichever is later.
   */
  answered(batchId: number, now: number): void {
    const sentAt = this.inFlight.get(batchId) ?? now;
    this.inFlight.delete(batchId);
    const ms = now - Math.max(sentAt, this.lastAnswerAt);
    this.lastAnswerAt = now;
    this.measuredMs = this.measuredMs === null ? ms : this.measuredMs + EMA * (ms - this.measuredMs);
  }

  view(): StageView {
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
      lastCheckpointStep: this.lastCheckpointStep,
    };
  }
}
