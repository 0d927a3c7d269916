import { EVENTS, type JobEvent, type JobSpec, type JobStatus, type PlanEntry, type ServerToDevicePayloads } from '../../protocol/index.js';
import type { PlannedStage } from '../planner/planner.js';
import { FINISHED_STATUSES } from '../storage/metrics.store.js';
import { checkCheckpoint } from './checkpoint-checks.js';
import { overdue, type StageFault } from './deadlines.js';
import { FeedCursor } from './feed-cursor.js';
import { Feeder } from './feeder.js';
import { buildJobModel, imageShape, largestInboundBytes, outputBytesPerBatch, outputExpectation, type JobModel } from './job-model.js';
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
  cursor: FeedCursor | null = null;
  /** Training and evaluation are over; the last checkpoints are awaited. */
  finishing = false;
  /** Faults and recoveries, for the job's view (the last MAX_EVENTS). */
  readonly events: JobEvent[] = [];
  private finishTimer: NodeJS.Timeout | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;

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
    } catch (err: unknown) {
      this.fail(`preparing the job failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.deps.changed();
  }

  /** Assigns every stage of `plan`; the job runs once all are ready. */
  start(plan: PlannedStage[]): void {
    const model = this.model!;
    this.stages = plan.map((p, s) => {
      const maxFrame = outputBytesPerBatch(model, p.lastModule, this.spec.batchSize);
      return new StageState(s, p.deviceId, p.firstModule, p.lastModule, p.estimatedMsPerBatch, outputExpectation(model, p.lastModule, this.spec.wire), maxFrame);
    });
    this.waitingFor = 'stages to report ready';
    this.savePlan();
    for (const st of this.stages) this.sendAssign(st, undefined, 0);
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
    if (!this.feeding) return;
    for (const { st, fault } of overdue(this.stages, this.deps.config, Date.now())) {
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

  /** Gives a lost stage to `deviceId`, with its newest usable checkpoint (or fresh weights). */
  async reassign(st: StageState, deviceId: string): Promise<void> {
    st.deviceId = deviceId;
    st.lost = false;
    st.ready = false;
    st.clearTraffic();
    st.fedUpTo = -1;
    this.savePlan();
    this.waitingFor = `stage ${st.index} to be rebuilt on device ${deviceId}`;
    const found = await this.usableCheckpoint(st);
    if (this.finished || st.deviceId !== deviceId) return;
    this.deps.config.log(`job ${this.id}: stage ${st.index} -> device ${deviceId}${found ? ` from checkpoint step ${found.step}` : ' with fresh weights'}`);
    this.waitingFor = 'stages to report ready';
    const resume = this.cursor!.resumeStep();
    // A checkpoint of step C holds training up to step C - 1; steps from there to `resume` are not fed again.
    const from = found?.step ?? 0;
    if (from < resume) {
      st.missedSteps.push({ from, to: resume });
      this.note('steps-missed', st, `modules ${st.firstModule}..${st.lastModule} of stage ${st.index} missed steps ${from}..${resume - 1} (restored from ${found ? `the checkpoint of step ${from}` : 'fresh weights'}, feeding resumes at step ${resume})`);
    }
    this.sendAssign(st, found?.weights, resume);
  }

  /** The newest checkpoint of `st` that reads back intact and passes the receipt checks; older ones are the fallback. */
  private async usableCheckpoint(st: StageState): Promise<{ step: number; weights: Uint8Array<ArrayBuffer> } | undefined> {
    for (const row of this.deps.checkpoints.list(this.id, st.index)) {
      try {
        const weights = await this.deps.checkpoints.read(row);
        checkCheckpoint(weights, { stage: st.index, firstModule: st.firstModule, lastModule: st.lastModule, step: row.step });
        return { step: row.step, weights };
      } catch (err: unknown) {
        this.note('bad-checkpoint', st, `checkpoint ${row.path} cannot be used, falling back to an older one: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return undefined;
  }

  /** The device holding one or more stages is gone: pause, forget what was in flight. */
  deviceLost(deviceId: string): void {
    if (this.finished) return;
    const hit = this.stages.filter((s) => s.deviceId === deviceId && !s.lost);
    if (hit.length === 0) return;
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

  /** The coordinator is shutting down: tell the devices, leave the stored status for the next start to fail. */
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
