import { EVENTS, type JobEvent, type JobSpec, type JobStatus, type PlanEntry, type ServerToDevicePayloads } from '../../protocol/index.js';
import type { PlannedStage } from '../planner/planner.js';
import { FINISHED_STATUSES } from '../storage/metrics.store.js';
import { planCut, relayedCut, type CutState } from './cuts.js';
import { overdue, overdueReadiness, type StageFault } from './deadlines.js';
import { FeedCursor } from './feed-cursor.js';
import { Feeder } from './feeder.js';
import { buildJobModel, imageShape, largestInboundBytes, outputBytesPerBatch, outputExpectation, type JobModel } from './job-model.js';
import { rollBackPipeline, type RollbackJob } from './recovery.js';
import type { RunnerDeps } from './runner-deps.js';
import { StageState } from './stage-state.js';

/** How long a finished job waits for its last checkpoints before it is done anyway. */
const FINAL_CHECKPOINT_WAIT_MS = 30_000;
/** Events a job keeps for its view. */
const MAX_EVENTS = 100;

/** What the lifecycle asks of flow control (FlowControl). */
export interface Traffic {
  /** A stage was lost: drop the queues, make what was fed stale. */
  pause(): void;
  /** Feeding resumes: forget the stale batches. */
  forgetStale(): void;
  /** Send what the credits allow. */
  pump(): void;
}

/**
 * One job's life (docs/runtime.md): prepare (data, shapes, size limits),
 * start (assign every stage), run, pause when a device is lost and resume
 * once its stage is re-assigned, finish each epoch, and end done (after the
 * last checkpoints), stopped or failed. Every status change is stored.
 */
export class JobLifecycle {
  status: JobStatus = 'waiting';
  error: string | null = null;
  startedAt: number | null = null;
  finishedAt: number | null = null;
  /** Why a waiting job is not running yet (for REST). */
  waitingFor: string | null = 'preparing data';
  model: JobModel | null = null;
  stages: StageState[] = [];
  /** cuts[s]: the cut between stage s and s + 1 (direct or relayed). */
  cuts: CutState[] = [];
  /** Tensor bytes of stage outputs the coordinator relayed. */
  relayedTensorBytes = 0;
  cursor: FeedCursor | null = null;
  /** Training and evaluation are over; the last checkpoints are awaited. */
  finishing = false;
  /** Faults and recoveries, for the job's view (the last MAX_EVENTS). */
  readonly events: JobEvent[] = [];
  private finishTimer: NodeJS.Timeout | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;
  /** The stored plan of a job a previous coordinator run left running or paused (resumeAfterRestart). */
  private restartPlan: PlanEntry[] | null = null;
  /** Bumped by every fault: a rollback under way for an older one is abandoned. */
  private faults = 0;

  constructor(
    readonly id: string,
    readonly spec: JobSpec,
    private readonly deps: RunnerDeps,
    private readonly traffic: Traffic,
  ) {}

  get prepared(): boolean {
    return this.model !== null && this.cursor !== null;
  }

  get finished(): boolean {
    return FINISHED_STATUSES.includes(this.status);
  }

  get feeding(): boolean {
    return this.status === 'running' && !this.finishing;
  }

  /** Loads the data set and reads the network's shapes; a failure fails the job. */
  async prepare(): Promise<void> {
    try {
      const data = await this.deps.loadData(this.spec);
      const model = buildJobModel(this.spec, data);
      const largest = largestInboundBytes(model, this.spec.batchSize);
      const limit = this.deps.config.maxMessageBytes;
      if (largest > limit) {
        throw new Error(
          `messages of this job reach ${largest} bytes, above the coordinator's limit of ${limit}: use a smaller batchSize or wire float16/int8, or start the coordinator with a larger --max-message-mib`,
        );
      }
      const feeder = new Feeder(this.spec, data);
      if (feeder.batchesPerEpoch === 0) {
        throw new Error(`${data.train.count} training image(s) make no batch of at least 2 at batchSize ${this.spec.batchSize}; raise limitTrain`);
      }
      if (this.finished) return;
      this.model = model;
      this.cursor = new FeedCursor(feeder, this.spec.epochs);
      this.waitingFor = `${this.spec.minDevices} idle device(s)`;
      this.deps.metrics.updateJob(this.id, { modelConfig: model.config });
      if (this.restartPlan) this.restoreStages(this.restartPlan);
    } catch (err: unknown) {
      this.fail(`preparing the job failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.deps.changed();
  }

  /** Assigns every stage of `plan`; the job runs once all are ready. */
  start(plan: PlannedStage[]): void {
    this.stages = plan.map((p, s) => this.makeStage(s, p.deviceId, p.firstModule, p.lastModule, p.estimatedMsPerBatch));
    this.cuts = this.stages.slice(0, -1).map((st, s) => planCut(s, this.deps.peerOf(st.deviceId), this.deps.peerOf(this.stages[s + 1]!.deviceId), this.stages[s + 1]!.deviceId));
    this.waitingFor = 'stages to report ready';
    this.savePlan();
    for (const st of this.stages) this.sendAssign(st, undefined, 0);
    this.startDeadlines();
  }

  /**
   * This job was running or paused when the previous coordinator run ended:
   * once prepared it is paused with the stored plan's stages, each waiting
   * for a device; when all have one the pipeline rolls back to the newest
   * consistent checkpoint (docs/runtime.md, restart). Call before prepare().
   */
  resumeAfterRestart(plan: PlanEntry[], startedAt: number | null): void {
    this.restartPlan = plan;
    this.startedAt = startedAt;
    this.waitingFor = 'preparing data (coordinator restarted)';
  }

  private restoreStages(plan: PlanEntry[]): void {
    const k = this.model!.moduleCount;
    const contiguous = plan.length > 0 && plan.every((p, i) => p.stage === i && p.firstModule === (i === 0 ? 0 : plan[i - 1]!.lastModule + 1) && p.lastModule >= p.firstModule);
    if (!contiguous || plan[plan.length - 1]!.lastModule !== k - 1) {
      throw new Error(`cannot resume after the coordinator restarted: the stored plan does not cover modules 0..${k - 1} of this job's network`);
    }
    this.stages = plan.map((p) => this.makeStage(p.stage, p.deviceId, p.firstModule, p.lastModule, p.estimatedMsPerBatch));
    for (const st of this.stages) st.lost = true;
    // The devices that rejoin get the stages anew: their cuts relay (a re-assigned stage's neighbours keep no peer).
    this.cuts = this.stages.slice(0, -1).map((_, s) => relayedCut(s, 'the stages were re-assigned after the coordinator restarted'));
    this.setStatus('paused');
    this.waitingFor = `${plan.length} device(s) (coordinator restarted)`;
    this.note('coordinator-restarted', null, `the coordinator restarted: job resumes from the newest checkpoint every stage has once ${plan.length} device(s) are idle`);
    this.startDeadlines();
  }

  private makeStage(index: number, deviceId: string, first: number, last: number, estimatedMs: number): StageState {
    const model = this.model!;
    const maxFrame = outputBytesPerBatch(model, last, this.spec.batchSize);
    return new StageState(index, deviceId, first, last, estimatedMs, outputExpectation(model, last, this.spec.wire), maxFrame);
  }

  private startDeadlines(): void {
    const every = Math.min(1000, Math.max(50, this.deps.config.deadlineFloorMs / 4));
    this.deadlineTimer = setInterval(() => this.checkDeadlines(), every);
    this.deadlineTimer.unref();
  }

  /** Records an event in the job's view and the log. */
  note(code: string, st: { index: number; deviceId: string } | null, message: string): void {
    this.events.push({ at: Date.now(), code, stage: st?.index ?? null, deviceId: st?.deviceId ?? null, message });
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    this.deps.config.log(`job ${this.id}: ${message}${st ? ` (device ${st.deviceId})` : ''}`);
  }

  /**
   * Gives up on a stage's device (deadlines missed, answers refused): the
   * device is told why and dropped, which pauses the job until the stage is
   * re-assigned (deviceLost, by way of the device service).
   */
  giveUp(st: StageState, fault: StageFault): void {
    if (this.finished || st.lost) return;
    this.note(fault.code, st, fault.message);
    this.deps.dropDevice(st.deviceId, fault.code, fault.message);
  }

  private checkDeadlines(): void {
    const now = Date.now();
    // Whether or not the job feeds: stages are assigned while it waits, and rebuilt during a re-plan.
    // Giving up pauses the job (and cancels a hand-over); recovery then restores every stage.
    for (const { st, fault } of overdueReadiness(this.stages, this.deps.config, now)) this.giveUp(st, fault);
    if (!this.feeding) return;
    for (const { st, fault } of overdue(this.stages, this.deps.config, now)) {
      if (fault) this.giveUp(st, fault);
      else this.note('deadline-missed', st, `stage ${st.index} missed its deadline (${st.missedInARow} in a row)`);
    }
  }

  /** Every stage reported ready: the job starts, or resumes after a pause. */
  allReady(): void {
    this.waitingFor = null;
    if (this.status === 'paused') this.resume();
    else if (this.status === 'waiting') {
      this.startedAt = Date.now();
      this.deps.metrics.updateJob(this.id, { startedAt: this.startedAt });
      this.setStatus('running');
    }
  }

  /** Stages whose device was lost and that wait for a new one. */
  lostStages(): StageState[] {
    return this.finished ? [] : this.stages.filter((s) => s.lost);
  }

  /**
   * Gives a lost stage to `deviceId`. Once no stage waits for a device, the
   * whole pipeline rolls back to the newest step every stage has a usable
   * checkpoint of (recovery.ts): every stage restores it, feeding resumes
   * after it, so no module misses or repeats a step.
   */
  async reassign(st: StageState, deviceId: string): Promise<void> {
    st.deviceId = deviceId;
    st.lost = false;
    st.ready = false;
    st.clearTraffic();
    st.fedUpTo = -1;
    // Its neighbours keep their old peers: the cuts around a re-assigned stage relay from now on.
    for (const cut of [this.cuts[st.index - 1], this.cuts[st.index]]) cut?.relay(`stage ${st.index} was re-assigned after a fault`);
    this.savePlan();
    const waiting = this.stages.filter((s) => s.lost);
    if (waiting.length > 0) {
      this.waitingFor = this.restartPlan
        ? `${waiting.length} device(s) (coordinator restarted)`
        : `an idle device for stage(s) ${waiting.map((s) => s.index).join(', ')}`;
      return;
    }
    const fault = this.faults;
    this.waitingFor = 'the newest checkpoint every stage has to be read';
    const step = await rollBackPipeline(this.rollbackJob(), () => fault === this.faults && !this.finished && this.stages.every((s) => !s.lost));
    if (step === null) return;
    this.restartPlan = null;
    this.note('rolled-back', null, `every stage restored to step ${step} (${step > 0 ? 'the newest checkpoint all stages have' : 'fresh weights'}); feeding resumes at ${this.cursor!.describe()}`);
    this.waitingFor = 'stages to report ready';
    this.deps.changed();
  }

  private rollbackJob(): RollbackJob {
    return {
      id: this.id,
      stages: this.stages,
      cursor: this.cursor!,
      metrics: this.deps.metrics,
      checkpoints: this.deps.checkpoints,
      note: (code, st, message) => this.note(code, st, message),
      sendAssign: (st, weights, step) => {
        this.deps.config.log(`job ${this.id}: stage ${st.index} -> device ${st.deviceId}${weights ? ` from checkpoint step ${step}` : ' with fresh weights'}`);
        this.sendAssign(st, weights, step);
      },
    };
  }

  /** A stage's answer for training step `step` was accepted: its modules trained it (the step history). */
  trained(st: StageState, step: number): void {
    this.deps.metrics.insertTrained(this.id, st.index, st.firstModule, st.lastModule, step);
  }

  /**
   * Checkpoints are kept only from a running job's ready stages: one sent
   * while paused, or by a stage being rebuilt, is of training a rollback is
   * about to undo.
   */
  keepsCheckpointOf(st: StageState, step: number): boolean {
    // A stage trains only what it is fed: a later step is from before its last (re-)assignment.
    return this.status === 'running' && st.ready && !st.lost && step <= st.fedUpTo + 1;
  }

  /** The device holding one or more stages is gone: pause, forget what was in flight. */
  deviceLost(deviceId: string): void {
    if (this.finished) return;
    const hit = this.stages.filter((s) => s.deviceId === deviceId && !s.lost);
    if (hit.length === 0) return;
    this.faults++;
    for (const st of hit) {
      st.lost = true;
      st.ready = false;
      st.clearTraffic();
    }
    if (this.finishing) {
      // Training and evaluation are over; only final checkpoints were awaited, and this one will not come.
      this.maybeDone(true);
      return;
    }
    this.traffic.pause();
    // No assignment is awaited any more: the rollback re-assigns every stage once each has a device.
    for (const st of this.stages) {
      st.assignedAt = null;
      st.rebuildStep = null;
    }
    if (this.status === 'running') this.setStatus('paused');
    this.waitingFor = `an idle device for stage(s) ${hit.map((s) => s.index).join(', ')}`;
    for (const st of hit) this.note('stage-lost', st, `device ${deviceId} lost, stage ${st.index} waits for an idle device; job ${this.status}`);
    this.deps.changed();
  }

  /** The last stage acknowledged the epoch's whole test set: store its evaluation, go on or finish. */
  finishEpoch(): void {
    const cursor = this.cursor!;
    const epoch = cursor.epoch;
    const { testError, moduleErrors } = cursor.tally.result(this.model!.moduleCount);
    const errors = this.spec.loss === 'supcon' ? moduleErrors.map(() => null) : moduleErrors;
    this.deps.metrics.insertEpoch(this.id, { epoch, testError, moduleErrors: errors, at: Date.now() });
    this.deps.dashEpoch({ jobId: this.id, epoch, testError, moduleErrors: errors });
    this.deps.config.log(`job ${this.id}: epoch ${epoch} test error ${testError?.toFixed(2) ?? '-'}%`);
    if (cursor.nextEpoch()) {
      this.traffic.pump();
      return;
    }
    this.finishing = true;
    this.finishTimer = setTimeout(() => this.maybeDone(true), FINAL_CHECKPOINT_WAIT_MS);
    this.maybeDone();
  }

  /** A stage stored a checkpoint of `step`; the last ones end a finishing job. */
  checkpointStored(st: StageState, step: number): void {
    st.lastCheckpointStep = Math.max(st.lastCheckpointStep ?? -1, step);
    if (this.finishing) this.maybeDone();
  }

  stop(reason: string): void {
    if (this.finished) return;
    this.complete('stopped', reason);
  }

  /** The coordinator is shutting down: tell the devices, leave the stored status for the next start to resume. */
  shutdown(): void {
    this.clearTimer();
    if (this.finished) return;
    for (const st of this.stages) if (!st.lost) this.deps.send(st.deviceId, EVENTS.jobStop, { jobId: this.id, reason: 'coordinator shutting down' });
  }

  plan(): PlanEntry[] {
    return this.stages.map((s) => ({
      stage: s.index,
      deviceId: s.deviceId,
      deviceName: this.deps.deviceName(s.deviceId),
      firstModule: s.firstModule,
      lastModule: s.lastModule,
      estimatedMsPerBatch: s.estimatedMs,
      measuredMsPerBatch: s.measuredMs,
    }));
  }

  /** Sends `stage:assign` for `st` (also used by rebalance.ts to rebuild a stage with a new range). */
  sendAssign(st: StageState, checkpoint: Uint8Array<ArrayBuffer> | undefined, step: number): void {
    const model = this.model!;
    const payload: ServerToDevicePayloads['stage:assign'] = {
      jobId: this.id,
      stage: st.index,
      firstModule: st.firstModule,
      lastModule: st.lastModule,
      job: this.spec,
      data: { ...model.data, preprocess: { ...model.data.preprocess } },
      inputShape: st.firstModule === 0 ? imageShape(model) : [...model.inputShapes[st.firstModule]!],
      step,
      maxFrameBytes: st.maxFrameBytes,
    };
    if (checkpoint) payload.checkpoint = checkpoint;
    const out = this.cuts[st.index];
    const into = this.cuts[st.index - 1];
    const next = this.stages[st.index + 1];
    const address = next ? this.deps.peerOf(next.deviceId).address : null;
    if (out?.mode === 'direct' && next && address !== null) payload.next = { deviceId: next.deviceId, address, token: out.token };
    if (into?.mode === 'direct') payload.prev = { deviceId: this.stages[st.index - 1]!.deviceId, token: into.token, maxFrameBytes: this.stages[st.index - 1]!.maxFrameBytes };
    st.assignedAt = Date.now();
    this.deps.send(st.deviceId, EVENTS.stageAssign, payload);
  }

  private resume(): void {
    this.traffic.forgetStale();
    this.cursor!.rewind();
    const resume = this.cursor!.resumeStep();
    for (const st of this.stages) {
      // A surviving stage trained what it was sent; what is fed again it trains a second time.
      if (st.fedUpTo < resume) continue;
      st.repeatedSteps.push({ from: resume, to: st.fedUpTo + 1 });
      this.note('steps-repeated', st, `modules ${st.firstModule}..${st.lastModule} of stage ${st.index} trained steps ${resume}..${st.fedUpTo} before the fault and get them again`);
      st.fedUpTo = resume - 1;
    }
    this.deps.config.log(`job ${this.id}: resuming at ${this.cursor!.describe()}`);
    this.setStatus('running');
  }

  /** Done once every stage stored its checkpoint of the last step (the model download needs them). */
  private maybeDone(force = false): void {
    if (this.finished) return;
    const last = this.cursor!.feeder.totalSteps - 1;
    const missing = this.stages.filter((s) => (s.lastCheckpointStep ?? -1) < last);
    if (missing.length > 0 && !force) return;
    if (missing.length > 0) this.deps.config.log(`job ${this.id}: no final checkpoint from stage(s) ${missing.map((s) => s.index).join(', ')}`);
    this.complete('done', null);
  }

  private fail(reason: string): void {
    if (this.finished) return;
    this.complete('failed', reason);
  }

  private complete(status: 'done' | 'stopped' | 'failed', reason: string | null): void {
    this.clearTimer();
    this.error = status === 'done' ? null : reason;
    this.finishedAt = Date.now();
    this.waitingFor = null;
    for (const st of this.stages) {
      if (st.lost) continue;
      if (status === 'done') this.deps.send(st.deviceId, EVENTS.stageRelease, { jobId: this.id, stage: st.index });
      else this.deps.send(st.deviceId, EVENTS.jobStop, { jobId: this.id, reason: reason ?? status });
      st.clearTraffic();
    }
    this.deps.metrics.updateJob(this.id, { status, error: this.error, finishedAt: this.finishedAt, plan: this.plan() });
    this.status = status;
    for (const st of this.stages) if (!st.lost) this.deps.freeDevice(st.deviceId);
    this.deps.config.log(`job ${this.id}: ${status}${reason ? ` (${reason})` : ''}`);
    this.deps.changed();
  }

  private setStatus(status: JobStatus): void {
    this.status = status;
    this.deps.metrics.updateJob(this.id, { status });
  }

  private savePlan(): void {
    this.deps.metrics.updateJob(this.id, { plan: this.plan() });
  }

  private clearTimer(): void {
    if (this.finishTimer) clearTimeout(this.finishTimer);
    this.finishTimer = null;
    if (this.deadlineTimer) clearInterval(this.deadlineTimer);
    this.deadlineTimer = null;
  }
}
