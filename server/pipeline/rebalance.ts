import { decodeFile, packr, type StageCheckpoint, type StoredTensor } from '../../engine/train/checkpoint-format.js';
import type { JobReplan } from '../../protocol/index.js';
import { memoryFits, RebalanceTracker, type RebalanceProposal } from '../planner/rebalance-policy.js';
import type { FlowControl } from './flow-control.js';
import type { JobLifecycle } from './job-lifecycle.js';
import { outputBytesPerBatch, outputExpectation } from './job-model.js';
import type { RunnerDeps } from './runner-deps.js';
import { StageState } from './stage-state.js';

/** Acknowledged training batches per measurement window. */
const WINDOW_BATCHES = 4;
/** Batches after a (re)start that are not measured: a stage's first steps include tfjs warm-up. */
const WARMUP_BATCHES = 4;

/**
 * The checkpoint a stage of modules first..last starts from after a re-plan:
 * the tensors of every old stage file (all of one step) whose modules overlap
 * first..last. Parameter names are the network's own and unique across
 * modules, so loading picks its modules' tensors by name and ignores the
 * rest. Throws when the files do not cover every module of the range.
 */
export function composeStageCheckpoint(files: readonly Uint8Array[], firstModule: number, lastModule: number, step: number): Uint8Array<ArrayBuffer> {
  const params: Record<string, StoredTensor> = {};
  const momentum: Record<string, StoredTensor> = {};
  const covered = new Set<number>();
  for (const bytes of files) {
    const ckpt = decodeFile<StageCheckpoint>(bytes, 'contsup-stage');
    if (ckpt.step !== step) throw new Error(`re-plan: a stage checkpoint is of step ${ckpt.step}, the hand-over is at step ${step}`);
    if (ckpt.lastModule < firstModule || ckpt.firstModule > lastModule) continue;
    for (let k = Math.max(firstModule, ckpt.firstModule); k <= Math.min(lastModule, ckpt.lastModule); k++) covered.add(k);
    Object.assign(params, ckpt.params);
    Object.assign(momentum, ckpt.momentum);
  }
  for (let k = firstModule; k <= lastModule; k++) if (!covered.has(k)) throw new Error(`re-plan: no stage checkpoint holds module ${k}`);
  const file: StageCheckpoint = { format: 'contsup-stage', version: 1, firstModule, lastModule, step, params, momentum };
  return new Uint8Array(packr.pack(file));
}

interface HandOver {
  proposal: RebalanceProposal;
  from: Array<{ firstModule: number; lastModule: number }>;
  measuredMs: number[];
  /** Stage index -> its checkpoint at the hand-over step. */
  files: Map<number, Uint8Array>;
  /** Set once the rebuilt stages were assigned. */
  step: number | null;
}

const rangesOf = (stages: readonly StageState[]): Array<{ firstModule: number; lastModule: number }> => stages.map((s) => ({ firstModule: s.firstModule, lastModule: s.lastModule }));

/**
 * Re-planning of one running job (docs/runtime.md): every window of
 * acknowledged batches the stages' measured times go to the policy
 * (rebalance-policy.ts); when it proposes a new split, feeding pauses after
 * one more training batch that asks every stage for a checkpoint, the
 * pipeline drains, the stages whose range changed are re-assigned on their
 * devices with a checkpoint composed from those files, and feeding resumes
 * at the next step once they are ready. No step is lost or trained twice:
 * nothing is in flight at the hand-over, and every stage's weights are of
 * the same step.
 */
export class Rebalancer {
  readonly replans: JobReplan[] = [];
  private readonly tracker: RebalanceTracker | null;
  private acks = 0;
  private handOver: HandOver | null = null;

  constructor(
    private readonly life: JobLifecycle,
    private readonly flow: FlowControl,
    private readonly deps: RunnerDeps,
  ) {
    const rule = deps.config.rebalance;
    this.tracker = rule === false ? null : new RebalanceTracker(rule);
  }

  /** The last stage acknowledged a training batch. */
  trainAcked(): void {
    if (this.handOver) {
      this.maybeHandOver();
      return;
    }
    if (!this.tracker) return;
    this.acks++;
    if (this.acks <= WARMUP_BATCHES || (this.acks - WARMUP_BATCHES) % WINDOW_BATCHES !== 0 || !this.mayStart()) return;
    const stages = this.life.stages;
    const measured = stages.map((s) => ({ firstModule: s.firstModule, lastModule: s.lastModule, measuredMs: s.measuredMs ?? 0 }));
    const costs = this.life.model!.costs;
    // Never a range a stage's device cannot hold (the planner's memory rule).
    const fits = memoryFits(costs, this.life.spec.batchSize, stages.map((s) => this.deps.deviceMemoryBytes(s.deviceId)));
    const proposal = this.tracker.observe(measured, costs.map((c) => c.forwardFlops), fits);
    if (!proposal) return;
    this.handOver = { proposal, from: rangesOf(stages), measuredMs: measured.map((m) => Math.round(m.measuredMs)), files: new Map(), step: null };
    this.flow.barrier = { step: null };
    this.life.note('replan-started', null, `re-planning: ${proposal.reason}; handing over at the next training batch's checkpoint`);
  }

  /** A stage's checkpoint was stored; those of the hand-over step are kept for the rebuilt stages. */
  checkpointStored(st: StageState, step: number, weights: Uint8Array): void {
    const h = this.handOver;
    const barrier = this.flow.barrier;
    if (!h || h.step !== null || !barrier || barrier.step === null || step !== barrier.step + 1) return;
    h.files.set(st.index, weights);
    this.maybeHandOver();
  }

  /** Every stage reported ready: after a hand-over, feeding resumes. */
  allReady(): void {
    const h = this.handOver;
    if (!h || h.step === null) return;
    this.handOver = null;
    this.flow.barrier = null;
    this.acks = 0;
    this.tracker?.reset();
    const replan: JobReplan = { at: Date.now(), step: h.step, from: h.from, to: h.proposal.ranges, measuredMs: h.measuredMs, predictedMs: h.proposal.predictedMs.map(Math.round), reason: h.proposal.reason };
    this.replans.push(replan);
    const show = (r: Array<{ firstModule: number; lastModule: number }>): string => r.map((x) => `${x.firstModule}..${x.lastModule}`).join(' | ');
    this.life.note('replanned', null, `re-planned at step ${h.step}: modules ${show(h.from)} -> ${show(h.proposal.ranges)}; feeding resumes`);
  }

  /** A fault paused the job: an unfinished hand-over is dropped (the fault's recovery takes over). */
  cancel(): void {
    if (this.handOver) this.life.note('replan-cancelled', null, 're-planning cancelled: a stage was lost');
    this.handOver = null;
    this.acks = 0;
    this.tracker?.reset();
  }

  /** Only while training runs with every stage up, and not at an epoch's last batch (that one checkpoints anyway, then evaluation follows). */
  private mayStart(): boolean {
    const cursor = this.life.cursor;
    const stages = this.life.stages;
    if (!cursor || !this.life.feeding || cursor.phase !== 'train' || stages.some((s) => !s.ready || s.lost || s.measuredMs === null)) return false;
    const lastOfEpoch = cursor.feeder.stepOf(cursor.epoch, cursor.feeder.batchesPerEpoch - 1);
    return stages[0]!.fedUpTo + 1 < lastOfEpoch;
  }

  private maybeHandOver(): void {
    const h = this.handOver;
    const barrier = this.flow.barrier;
    const stages = this.life.stages;
    if (!h || h.step !== null || !barrier || barrier.step === null) return;
    if (h.files.size < stages.length || stages.some((s) => s.inFlight.size > 0 || s.queue.length > 0)) return;
    const step = barrier.step + 1;
    h.step = step;
    const model = this.life.model!;
    const spec = this.life.spec;
    const files = [...h.files.values()];
    const rebuilt: number[] = [];
    h.proposal.ranges.forEach((r, i) => {
      const old = stages[i]!;
      if (r.firstModule === old.firstModule && r.lastModule === old.lastModule) return;
      const weights = composeStageCheckpoint(files, r.firstModule, r.lastModule, step);
      const st = new StageState(i, old.deviceId, r.firstModule, r.lastModule, h.proposal.predictedMs[i]!, outputExpectation(model, r.lastModule, spec.wire), outputBytesPerBatch(model, r.lastModule, spec.batchSize));
      st.samples = old.samples;
      st.bytesIn = old.bytesIn;
      st.bytesOut = old.bytesOut;
      st.missedDeadlines = old.missedDeadlines;
      st.missedSteps.push(...old.missedSteps);
      st.repeatedSteps.push(...old.repeatedSteps);
      st.fedUpTo = old.fedUpTo;
      st.lastCheckpointStep = step;
      // Bounded like any stage fault: not ready in time, the stage is given up on (deadlines.ts overdueReadiness).
      st.rebuildStep = step;
      stages[i] = st;
      rebuilt.push(i);
      // Stored as the stage's newest checkpoint: a fault after the move restores the new range from it.
      void this.deps.checkpoints.save(this.life.id, i, this.life.cursor!.epoch, step, weights, stages.length).catch((err: unknown) => {
        this.life.note('bad-checkpoint', st, `re-plan: storing stage ${i}'s composed checkpoint failed: ${err instanceof Error ? err.message : String(err)}`);
      });
      this.life.sendAssign(st, weights, step);
    });
    this.life.waitingFor = `re-planning: stage(s) ${rebuilt.join(', ')} rebuilding at step ${step}`;
    this.deps.changed();
  }
}
