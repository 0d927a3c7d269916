import { EVENTS, ProtocolError, payloadByteSize, type Phase, type StageInput, type StageOutput } from '../../protocol/index.js';
import type { CutState } from './cuts.js';
import type { FeedCursor } from './feed-cursor.js';
import type { RunnerDeps } from './runner-deps.js';
import type { StageState } from './stage-state.js';

/** What the coordinator remembers of a batch it fed, until the last stage acknowledges it. */
export interface BatchInfo {
  phase: Phase;
  epoch: number;
  index: number;
  step: number;
  n: number;
  lr?: number;
  checkpointAfter?: boolean;
}

/** The job as flow control sees it (JobLifecycle). */
export interface FlowJob {
  readonly id: string;
  readonly stages: StageState[];
  readonly cursor: FeedCursor | null;
  /** Inputs may be sent: the job runs and is not only waiting for its last checkpoints. */
  readonly feeding: boolean;
  /** cuts[s]: between stage s and s + 1. */
  readonly cuts: CutState[];
  /** Tensor bytes the coordinator relayed for the job. */
  relayedTensorBytes: number;
}

/** Metrics/eval reports kept acceptable after their batch reached the next stage directly (stage-state.ts reportsDue). */
const MAX_REPORTS_DUE = 16;

/**
 * Credit flow control of one job (docs/runtime.md): which batches are in
 * flight where, the queue in front of each stage, and which input goes out
 * next. A stage gets an input only with a free credit and while the queue in
 * front of the next stage has room, so a slow stage throttles its upstream.
 */
export class FlowControl {
  private nextBatchId = 0;
  /** Batches below this id were in flight when the job paused: their answers only free credits. */
  private staleBelow = 0;
  private readonly batches = new Map<number, BatchInfo>();
  /**
   * A re-plan's hand-over (rebalance.ts): the next training batch fed asks
   * every stage for a checkpoint (`step` records it), then stage 0 gets
   * nothing more until the barrier is lifted; later stages drain.
   */
  barrier: { step: number | null } | null = null;

  constructor(
    private readonly job: FlowJob,
    private readonly deps: Pick<RunnerDeps, 'config' | 'send'>,
  ) {}

  /** Sends every input the credits allow. */
  pump(): void {
    if (!this.job.feeding) return;
    const credits = this.deps.config.credits;
    const stages = this.job.stages;
    // Downstream first: a stage sends only when the queue in front of the next stage has room.
    for (let s = stages.length - 1; s >= 0; s--) {
      const st = stages[s]!;
      const next = stages[s + 1];
      // In front of a direct successor the queue is on its device: what it holds beyond its credits.
      while (st.inFlight.size < credits && (!next || next.queue.length + Math.max(0, next.inFlight.size - credits) < credits)) {
        const input = s === 0 ? this.nextFeed() : st.queue.shift();
        if (!input) break;
        st.inFlight.set(input.batchId, Date.now());
        if (input.phase === 'train') st.fedUpTo = Math.max(st.fedUpTo, input.step);
        st.bytesIn += payloadByteSize(input);
        this.deps.send(st.deviceId, EVENTS.stageInput, input);
      }
    }
  }

  /** Info of a batch in flight at `st`; undefined for a stale one (from before a pause). */
  inFlightInfo(st: StageState, batchId: number, event: string, report = false): BatchInfo | undefined {
    if (batchId < this.staleBelow) return undefined;
    const info = this.batches.get(batchId);
    // A report (metrics/eval) may come after its batch reached the next stage directly.
    if (!info || !(st.inFlight.has(batchId) || (report && st.reportsDue.delete(batchId)))) {
      throw new ProtocolError('bad-batch', `${event} for batch ${batchId}: batch ${batchId} is not in flight at stage ${st.index} (never sent to it, or answered already)`);
    }
    return info;
  }

  /**
   * The batch an answer (output/done) is for, after checking it is in flight
   * at this stage; undefined for answers to batches from before a pause,
   * which only give the credit back.
   */
  answerOf(st: StageState, batchId: number, event: string): BatchInfo | undefined {
    const info = this.inFlightInfo(st, batchId, event);
    if (!info) {
      st.inFlight.delete(batchId);
      this.pump();
    }
    return info;
  }

  /**
   * Stage `to` got `batchId` straight from stage to.index - 1 (stage:arrived):
   * the predecessor answered it and `to` holds it, as if relayed and sent.
   */
  arrived(to: StageState, batchId: number, bytes: number): void {
    const from = this.job.stages[to.index - 1]!;
    const info = this.answerOf(from, batchId, EVENTS.stageArrived);
    if (!info) return;
    const now = Date.now();
    from.answered(batchId, now, info.phase);
    from.bytesOut += bytes;
    if (info.phase === 'train') from.samples += info.n;
    from.reportsDue.add(batchId);
    if (from.reportsDue.size > MAX_REPORTS_DUE) from.reportsDue.delete(from.reportsDue.values().next().value!);
    this.job.cuts[from.index]!.bytes += bytes;
    to.inFlight.set(batchId, now);
    if (info.phase === 'train') to.fedUpTo = Math.max(to.fedUpTo, info.step);
    to.bytesIn += bytes;
    this.pump();
  }

  /** Queues `msg` (stage st's output for `info`) in front of the next stage, relayed as it came. */
  relay(st: StageState, msg: StageOutput, info: BatchInfo): void {
    const bytes = payloadByteSize(msg);
    const cut = this.job.cuts[st.index]!;
    cut.relay(`stage ${st.index} sent its output through the coordinator`);
    cut.bytes += bytes;
    this.job.relayedTensorBytes += bytes;
    const input: StageInput = { jobId: this.job.id, stage: st.index + 1, batchId: msg.batchId, epoch: info.epoch, step: info.step, phase: info.phase, labels: msg.labels };
    // The tensor bytes are never decoded here.
    if (msg.h) input.h = msg.h;
    if (msg.image) input.image = msg.image;
    if (msg.history && msg.history.length > 0) input.history = msg.history;
    if (info.lr !== undefined) input.lr = info.lr;
    if (info.checkpointAfter) input.checkpointAfter = true;
    this.job.stages[st.index + 1]!.queue.push(input);
    this.pump();
  }

  /** The last stage answered the batch: it leaves the pipeline. */
  acknowledged(batchId: number): void {
    this.batches.delete(batchId);
  }

  /**
   * A stage was lost: queued inputs are dropped and everything fed so far
   * becomes stale. Survivors keep their in-flight entries so their credits
   * hold until they answer.
   */
  pause(): void {
    this.barrier = null;
    for (const st of this.job.stages) st.queue = [];
    this.staleBelow = this.nextBatchId;
  }

  /** Before feeding resumes: stale batches will never be acknowledged. */
  forgetStale(): void {
    for (const id of [...this.batches.keys()]) if (id < this.staleBelow) this.batches.delete(id);
  }

  private nextFeed(): StageInput | undefined {
    if (this.barrier && this.barrier.step !== null) return undefined;
    const b = this.job.cursor!.next();
    if (!b) return undefined;
    const batchId = this.nextBatchId++;
    const info: BatchInfo = { phase: b.phase, epoch: b.epoch, index: b.index, step: b.step, n: b.n };
    const input: StageInput = { jobId: this.job.id, stage: 0, batchId, epoch: b.epoch, step: b.step, phase: b.phase, labels: b.labels, images: b.images };
    if (b.phase === 'train') {
      input.augmentSeed = b.augmentSeed!;
      input.lr = info.lr = b.lr!;
      if (b.checkpointAfter || this.barrier) input.checkpointAfter = info.checkpointAfter = true;
      if (this.barrier) this.barrier.step = b.step;
    }
    this.batches.set(batchId, info);
    return input;
  }
}
