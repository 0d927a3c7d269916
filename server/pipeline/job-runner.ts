import { stageMemoryBytes } from '../../engine/model/cost.js';
import {
  EVENTS,
  payloadByteSize,
  ProtocolError,
  type JobEvent,
  type JobReplan,
  type JobProgress,
  type JobSpec,
  type JobStatus,
  type PlanEntry,
  type CutView,
  type StageArrived,
  type StageCheckpoint,
  type StageRelayFallback,
  type StageDone,
  type StageEval,
  type StageMetrics,
  type StageOutput,
  type StageReady,
  type StageView,
} from '../../protocol/index.js';
import type { PlannedStage } from '../planner/planner.js';
import type { StepRow } from '../storage/metrics.store.js';
import {
  checkCheckpointSize,
  checkDoneAllowed,
  checkEcho,
  checkEvalBatch,
  checkFirstEvalReport,
  checkModules,
  checkNotReady,
  checkOutputAllowed,
  checkPhase,
  stageHeldBy,
} from './answer-checks.js';
import { checkCheckpoint } from './checkpoint-checks.js';
import { refused } from './deadlines.js';
import { FlowControl } from './flow-control.js';
import { JobLifecycle } from './job-lifecycle.js';
import type { JobModel } from './job-model.js';
import { checkStageOutput } from './output-checks.js';
import { Rebalancer } from './rebalance.js';
import type { RunnerDeps } from './runner-deps.js';
import type { StageState } from './stage-state.js';

export type { RunnerDeps } from './runner-deps.js';

/** Rows kept per job in the steps table; longer runs are downsampled to about this many steps. */
const MAX_STEP_ROWS = 5000;

/**
 * One job's pipeline (docs/runtime.md), composed of its lifecycle
 * (job-lifecycle.ts: prepare, assign, pause/resume, finish), its credit flow
 * control (flow-control.ts: what is in flight, what goes out next) and the
 * checks every inbound answer passes (answer-checks.ts, output-checks.ts).
 * Violations throw ProtocolError for the gateway to send back.
 */
export class JobRunner {
  private readonly life: JobLifecycle;
  private readonly flow: FlowControl;
  private readonly rebalance: Rebalancer;

  constructor(
    readonly id: string,
    readonly spec: JobSpec,
    readonly createdAt: number,
    private readonly deps: RunnerDeps,
  ) {
    this.life = new JobLifecycle(id, spec, deps, {
      pause: () => {
        this.flow.pause();
        this.rebalance.cancel();
      },
      forgetStale: () => this.flow.forgetStale(),
      pump: () => this.flow.pump(),
    });
    this.flow = new FlowControl(this.life, deps);
    this.rebalance = new Rebalancer(this.life, this.flow, deps);
  }

  get status(): JobStatus {
    return this.life.status;
  }
  get error(): string | null {
    return this.life.error;
  }
  get startedAt(): number | null {
    return this.life.startedAt;
  }
  get finishedAt(): number | null {
    return this.life.finishedAt;
  }
  /** Why a waiting or paused job is not running (for REST and dashboards). */
  get waitingFor(): string | null {
    return this.life.waitingFor;
  }
  get model(): JobModel | null {
    return this.life.model;
  }
  get events(): JobEvent[] {
    return this.life.events;
  }
  /** Re-splits of the modules made while the job ran (rebalance.ts). */
  get replans(): JobReplan[] {
    return this.rebalance.replans;
  }
  get stages(): StageState[] {
    return this.life.stages;
  }
  /** Tensor bytes of stage outputs the coordinator relayed for this job. */
  get relayedTensorBytes(): number {
    return this.life.relayedTensorBytes;
  }
  get prepared(): boolean {
    return this.life.prepared;
  }
  get finished(): boolean {
    return this.life.finished;
  }

  /** The scheduler says what a waiting job waits for. */
  waitFor(reason: string): void {
    this.life.waitingFor = reason;
  }

  prepare(): Promise<void> {
    return this.life.prepare();
  }

  /** Bytes a device needs to hold modules first..last at this job's batch size. */
  stageMemoryBytes(first: number, last: number): number {
    return stageMemoryBytes(this.model!.costs, first, last, this.spec.batchSize);
  }

  start(plan: PlannedStage[]): void {
    this.life.start(plan);
  }

  /** A job the previous coordinator run left running or paused: resume it from its stored plan (call before prepare). */
  resumeAfterRestart(plan: PlanEntry[], startedAt: number | null): void {
    this.life.resumeAfterRestart(plan, startedAt);
  }

  lostStages(): StageState[] {
    return this.life.lostStages();
  }

  reassign(st: StageState, deviceId: string): Promise<void> {
    return this.life.reassign(st, deviceId);
  }

  deviceLost(deviceId: string): void {
    this.life.deviceLost(deviceId);
  }

  /** The device holds a stage of this job that it is building or has a batch in flight at (it may be inside a long step). */
  computing(deviceId: string): boolean {
    return !this.finished && this.stages.some((s) => s.deviceId === deviceId && !s.lost && (!s.ready || s.inFlight.size > 0));
  }

  stop(reason: string): void {
    this.life.stop(reason);
  }

  shutdown(): void {
    this.life.shutdown();
  }

  // ---- inbound messages (the gateway has run validateInbound) ----

  onReady(deviceId: string, msg: StageReady): void {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageReady);
    checkNotReady(st);
    st.ready = true;
    st.assignedAt = null;
    st.rebuildStep = null;
    if (this.stages.some((s) => !s.ready)) return;
    this.life.allReady();
    this.rebalance.allReady();
    this.flow.pump();
  }

  onOutput(deviceId: string, msg: StageOutput): void {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageOutput);
    this.countRefusal(st, () => this.output(st, msg));
  }

  private output(st: StageState, msg: StageOutput): void {
    checkOutputAllowed(st, this.stages.length, msg);
    const info = this.flow.answerOf(st, msg.batchId, EVENTS.stageOutput);
    if (!info) return;
    checkPhase(info, msg.phase, EVENTS.stageOutput, msg.batchId);
    checkEcho(msg, info);
    checkStageOutput(msg, st.expect, info.n);
    st.answered(msg.batchId, Date.now(), info.phase);
    st.bytesOut += payloadByteSize(msg);
    if (info.phase === 'train') {
      st.samples += info.n;
      this.life.trained(st, info.step);
    }
    this.flow.relay(st, msg, info);
  }

  /** The receiving stage got a batch straight from its predecessor: the predecessor's answer, this stage's input. */
  onArrived(deviceId: string, msg: StageArrived): void {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageArrived);
    const cut = this.life.cuts[msg.stage - 1];
    if (!cut) throw new ProtocolError('not-assigned', `stage:arrived for batch ${msg.batchId}: stage ${msg.stage} has no predecessor to take inputs from`);
    const from = this.stages[msg.stage - 1]!;
    this.countRefusal(from, () => {
      // A late direct arrival on a cut that fell back to the relay still counts: the batch did arrive.
      if (cut.mode !== 'direct' && !from.inFlight.has(msg.batchId)) throw new ProtocolError('bad-batch', `stage:arrived for batch ${msg.batchId}: the cut into stage ${msg.stage} is relayed (${cut.reason ?? ''})`);
      this.flow.arrived(st, msg.batchId, msg.bytes);
    });
  }

  /** A stage could not reach its successor: the cut relays through the coordinator, and the job view says why. */
  onRelayFallback(deviceId: string, msg: StageRelayFallback): void {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageRelayFallback);
    const cut = this.life.cuts[st.index];
    if (!cut) throw new ProtocolError('not-assigned', `stage:relay-fallback: stage ${st.index} is the last stage; it has no successor`);
    if (cut.mode === 'relayed') return;
    cut.relay(`stage ${st.index} cannot reach stage ${st.index + 1} directly: ${msg.reason}`);
    this.life.note('relay-fallback', st, `cut ${st.index}->${st.index + 1} relays through the coordinator: ${msg.reason}`);
  }

  onDone(deviceId: string, msg: StageDone): void {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageDone);
    this.countRefusal(st, () => this.done(st, msg));
  }

  /** Runs an answer's handling; a refused answer counts towards giving up on the stage (deadlines.ts). */
  private countRefusal(st: StageState, handle: () => void): void {
    try {
      handle();
    } catch (err: unknown) {
      if (err instanceof ProtocolError) {
        const fault = refused(st, err.message);
        if (fault) this.life.giveUp(st, fault);
      }
      throw err;
    }
  }

  private done(st: StageState, msg: StageDone): void {
    checkDoneAllowed(st, this.stages.length, msg.batchId);
    const info = this.flow.answerOf(st, msg.batchId, EVENTS.stageDone);
    if (!info) return;
    checkPhase(info, msg.phase, EVENTS.stageDone, msg.batchId);
    st.answered(msg.batchId, Date.now(), info.phase);
    this.flow.acknowledged(msg.batchId);
    const cursor = this.life.cursor!;
    if (info.phase === 'train') {
      st.samples += info.n;
      this.life.trained(st, info.step);
      cursor.ackTrain(info.index);
      this.rebalance.trainAcked();
    } else if (cursor.ackEval()) {
      this.life.finishEpoch();
      return;
    }
    this.flow.pump();
  }

  onMetrics(deviceId: string, msg: StageMetrics): void {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageMetrics);
    const info = this.flow.inFlightInfo(st, msg.batchId, EVENTS.stageMetrics, true);
    if (!info) return;
    checkModules(st, msg.modules.map((m) => m.module), EVENTS.stageMetrics);
    st.samplesPerSec = msg.samplesPerSec;
    const total = this.life.cursor!.feeder.totalSteps;
    const every = Math.max(1, Math.ceil(total / MAX_STEP_ROWS));
    if (info.step % every === 0 || info.step === total - 1) {
      const rows: StepRow[] = msg.modules.map((m) => ({ stage: st.index, module: m.module, step: info.step, loss: m.loss, correct: m.correct, count: m.count }));
      this.deps.metrics.insertSteps(this.id, rows);
    }
    this.deps.dashMetrics({ jobId: this.id, stage: st.index, epoch: info.epoch, step: info.step, modules: msg.modules, samplesPerSec: msg.samplesPerSec });
  }

  onEval(deviceId: string, msg: StageEval): void {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageEval);
    const info = this.flow.inFlightInfo(st, msg.batchId, EVENTS.stageEval, true);
    if (!info) return;
    checkEvalBatch(info, msg.batchId);
    checkModules(st, msg.modules.map((m) => m.module), EVENTS.stageEval);
    checkFirstEvalReport(this.life.cursor!.tally.add(st.index, msg.batchId, msg.modules), st, msg.batchId);
  }

  async onCheckpoint(deviceId: string, msg: StageCheckpoint): Promise<void> {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageCheckpoint);
    checkCheckpointSize(msg, this.model!, st);
    st.bytesOut += msg.weights.byteLength;
    if (!this.life.keepsCheckpointOf(st, msg.step)) {
      this.deps.config.log(`job ${this.id}: checkpoint of step ${msg.step} from stage ${st.index} not kept (job ${this.status}, stage ${st.ready ? 'ready' : 'being rebuilt'}): a rollback undoes that training`);
      return;
    }
    try {
      checkCheckpoint(msg.weights, { stage: st.index, firstModule: st.firstModule, lastModule: st.lastModule, step: msg.step });
    } catch (err: unknown) {
      // Never stored: the stage keeps its older checkpoints to fall back to.
      this.life.note('bad-checkpoint', st, `checkpoint refused: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
    const row = await this.deps.checkpoints.save(this.id, st.index, msg.epoch, msg.step, msg.weights, this.stages.length);
    this.life.checkpointStored(st, row.step);
    this.rebalance.checkpointStored(st, row.step, msg.weights);
  }

  // ---- views ----

  progress(): JobProgress | null {
    return this.life.cursor?.progress() ?? null;
  }

  plan(): PlanEntry[] {
    return this.life.plan();
  }

  cutViews(): CutView[] {
    return this.life.cuts.map((c) => c.view());
  }

  stageViews(): StageView[] {
    const stepsDone = this.progress()?.stepsDone ?? 0;
    return this.stages.map((s) => s.view(stepsDone));
  }

  private stageOf(deviceId: string, stage: number, event: string): StageState {
    return stageHeldBy(this.stages, deviceId, stage, event, this.id, this.finished);
  }
}
