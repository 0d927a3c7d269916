import type { Dataset } from '../../engine/data/dataset.js';
import { stageMemoryBytes } from '../../engine/model/cost.js';
import {
  EVENTS,
  ProtocolError,
  checkPayloadSize,
  payloadByteSize,
  type DashEpoch,
  type DashMetrics,
  type JobSpec,
  type Phase,
  type ServerToDeviceEvent,
  type ServerToDevicePayloads,
  type StageCheckpoint,
  type StageDone,
  type StageEval,
  type StageInput,
  type StageMetrics,
  type StageOutput,
  type StageReady,
} from '../../protocol/index.js';
import type { CoordinatorConfig } from '../config.js';
import type { PlannedStage } from '../planner/planner.js';
import type { CheckpointStore } from '../storage/checkpoint.store.js';
import { FINISHED_STATUSES, type JobStatus, type MetricsStore, type PlanEntry, type StepRow } from '../storage/metrics.store.js';
import { FeedCursor, type JobProgress } from './feed-cursor.js';
import { Feeder } from './feeder.js';
import { buildJobModel, checkpointBytesBound, imageShape, largestInboundBytes, outputBytesPerBatch, outputExpectation, type JobModel } from './job-model.js';
import { checkStageOutput } from './output-checks.js';
import { StageState, type StageView } from './stage-state.js';

export interface RunnerDeps {
  config: CoordinatorConfig;
  metrics: MetricsStore;
  checkpoints: CheckpointStore;
  loadData(spec: JobSpec): Promise<Dataset>;
  send<E extends ServerToDeviceEvent>(deviceId: string, event: E, payload: ServerToDevicePayloads[E]): boolean;
  deviceName(deviceId: string): string;
  /** The job no longer holds this device. */
  freeDevice(deviceId: string): void;
  /** Status changed: the scheduler may have work (free devices, a stage to re-assign). */
  changed(): void;
  dashMetrics(m: DashMetrics): void;
  dashEpoch(e: DashEpoch): void;
}

interface BatchInfo {
  phase: Phase;
  epoch: number;
  index: number;
  step: number;
  n: number;
  lr?: number;
  checkpointAfter?: boolean;
}

export type { JobProgress } from './feed-cursor.js';

/** Rows kept per job in the steps table; longer runs are downsampled to about this many steps. */
const MAX_STEP_ROWS = 5000;
/** How long a finished job waits for its last checkpoints before it is done anyway. */
const FINAL_CHECKPOINT_WAIT_MS = 30_000;

/**
 * One job's pipeline (docs/runtime.md): prepares the data and shapes, assigns
 * stages, feeds stage 0, relays outputs under credit flow control, evaluates
 * after each epoch, stores checkpoints, and pauses/resumes around lost
 * devices. Every inbound message is checked against the stage's expectations;
 * violations throw ProtocolError for the gateway to send back.
 */
export class JobRunner {
  status: JobStatus = 'waiting';
  error: string | null = null;
  startedAt: number | null = null;
  finishedAt: number | null = null;
  /** Why a waiting job is not running yet (for REST). */
  waitingFor: string | null = 'preparing data';
  model: JobModel | null = null;
  stages: StageState[] = [];
  private cursor: FeedCursor | null = null;
  private nextBatchId = 0;
  /** Batches below this id were in flight when the job paused: their answers only free credits. */
  private staleBelow = 0;
  private readonly batches = new Map<number, BatchInfo>();
  private finishing = false;
  private finishTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: string,
    readonly spec: JobSpec,
    readonly createdAt: number,
    private readonly deps: RunnerDeps,
  ) {}

  get prepared(): boolean {
    return this.model !== null && this.cursor !== null;
  }

  get finished(): boolean {
    return FINISHED_STATUSES.includes(this.status);
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

  /** Bytes a device needs to hold modules first..last at this job's batch size. */
  stageMemoryBytes(first: number, last: number): number {
    return stageMemoryBytes(this.model!.costs, first, last, this.spec.batchSize);
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
  }

  /** Stages whose device was lost and that wait for a new one. */
  lostStages(): StageState[] {
    return this.finished ? [] : this.stages.filter((s) => s.lost);
  }

  /** Gives a lost stage to `deviceId`, with its last stored checkpoint (or fresh weights). */
  async reassign(st: StageState, deviceId: string): Promise<void> {
    st.deviceId = deviceId;
    st.lost = false;
    st.ready = false;
    st.clearTraffic();
    this.savePlan();
    const row = this.deps.checkpoints.latest(this.id, st.index);
    let weights: Uint8Array<ArrayBuffer> | undefined;
    try {
      weights = row ? await this.deps.checkpoints.read(row) : undefined;
    } catch (err: unknown) {
      this.deps.config.log(`job ${this.id}: checkpoint ${row?.path} unreadable, stage ${st.index} starts fresh: ${String(err)}`);
    }
    if (this.finished || st.deviceId !== deviceId) return;
    this.deps.config.log(`job ${this.id}: stage ${st.index} -> device ${deviceId}${row ? ` from checkpoint step ${row.step}` : ' with fresh weights'}`);
    this.sendAssign(st, weights, this.cursor!.resumeStep());
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
    // Survivors keep their in-flight entries so their credits hold until they answer.
    for (const st of this.stages) st.queue = [];
    this.staleBelow = this.nextBatchId;
    if (this.status === 'running') this.setStatus('paused');
    this.waitingFor = `an idle device for stage(s) ${hit.map((s) => s.index).join(', ')}`;
    this.deps.config.log(`job ${this.id}: device ${deviceId} lost, ${this.status}`);
    this.deps.changed();
  }

  usesDevice(deviceId: string): boolean {
    return !this.finished && this.stages.some((s) => s.deviceId === deviceId && !s.lost);
  }

  /** The device holds a stage of this job that it is building or has a batch in flight at (it may be inside a long step). */
  computing(deviceId: string): boolean {
    return !this.finished && this.stages.some((s) => s.deviceId === deviceId && !s.lost && (!s.ready || s.inFlight.size > 0));
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

  // ---- inbound messages (the gateway has run validateInbound) ----

  onReady(deviceId: string, msg: StageReady): void {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageReady);
    if (st.ready) throw new ProtocolError('bad-schema', `stage:ready: stage ${st.index} is ready already`);
    st.ready = true;
    if (this.stages.some((s) => !s.ready)) return;
    this.waitingFor = null;
    if (this.status === 'paused') this.resume();
    else if (this.status === 'waiting') {
      this.startedAt = Date.now();
      this.deps.metrics.updateJob(this.id, { startedAt: this.startedAt });
      this.setStatus('running');
    }
    this.pump();
  }

  onOutput(deviceId: string, msg: StageOutput): void {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageOutput);
    if (st.index === this.stages.length - 1) {
      throw new ProtocolError('bad-schema', `stage:output for batch ${msg.batchId}: stage ${st.index} is the last stage; send stage:done instead`);
    }
    checkPayloadSize(EVENTS.stageOutput, msg, st.maxFrameBytes);
    const info = this.answerOf(st, msg.batchId, msg.phase, EVENTS.stageOutput);
    if (!info) return;
    if (msg.epoch !== info.epoch || msg.step !== info.step) {
      throw new ProtocolError('bad-schema', `stage:output for batch ${msg.batchId}: epoch ${msg.epoch} / step ${msg.step} do not match the input's ${info.epoch} / ${info.step}; echo the input's header`);
    }
    checkStageOutput(msg, st.expect, info.n);
    st.answered(msg.batchId, Date.now());
    st.bytesOut += payloadByteSize(msg);
    if (info.phase === 'train') st.samples += info.n;
    const input: StageInput = { jobId: this.id, stage: st.index + 1, batchId: msg.batchId, epoch: info.epoch, step: info.step, phase: info.phase, labels: msg.labels };
    // Relayed as they came: the tensor bytes are never decoded here.
    if (msg.h) input.h = msg.h;
    if (msg.image) input.image = msg.image;
    if (msg.history && msg.history.length > 0) input.history = msg.history;
    if (info.lr !== undefined) input.lr = info.lr;
    if (info.checkpointAfter) input.checkpointAfter = true;
    this.stages[st.index + 1]!.queue.push(input);
    this.pump();
  }

  onDone(deviceId: string, msg: StageDone): void {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageDone);
    if (st.index !== this.stages.length - 1) {
      throw new ProtocolError('bad-schema', `stage:done for batch ${msg.batchId}: stage ${st.index} is not the last stage; send stage:output with the features for stage ${st.index + 1}`);
    }
    const info = this.answerOf(st, msg.batchId, msg.phase, EVENTS.stageDone);
    if (!info) return;
    st.answered(msg.batchId, Date.now());
    this.batches.delete(msg.batchId);
    if (info.phase === 'train') {
      st.samples += info.n;
      this.cursor!.ackTrain(info.index);
    } else if (this.cursor!.ackEval()) {
      this.finishEpoch();
      return;
    }
    this.pump();
  }

  onMetrics(deviceId: string, msg: StageMetrics): void {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageMetrics);
    const info = this.inFlightInfo(st, msg.batchId, EVENTS.stageMetrics);
    if (!info) return;
    this.checkModules(st, msg.modules.map((m) => m.module), EVENTS.stageMetrics);
    st.samplesPerSec = msg.samplesPerSec;
    const total = this.cursor!.feeder.totalSteps;
    const every = Math.max(1, Math.ceil(total / MAX_STEP_ROWS));
    if (info.step % every === 0 || info.step === total - 1) {
      const rows: StepRow[] = msg.modules.map((m) => ({ stage: st.index, module: m.module, step: info.step, loss: m.loss, correct: m.correct, count: m.count }));
      this.deps.metrics.insertSteps(this.id, rows);
    }
    this.deps.dashMetrics({ jobId: this.id, stage: st.index, epoch: info.epoch, step: info.step, modules: msg.modules, samplesPerSec: msg.samplesPerSec });
  }

  onEval(deviceId: string, msg: StageEval): void {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageEval);
    const info = this.inFlightInfo(st, msg.batchId, EVENTS.stageEval);
    if (!info) return;
    if (info.phase !== 'eval') throw new ProtocolError('bad-batch', `stage:eval for batch ${msg.batchId}: that is a training batch; send stage:metrics for it`);
    this.checkModules(st, msg.modules.map((m) => m.module), EVENTS.stageEval);
    if (!this.cursor!.tally.add(st.index, msg.batchId, msg.modules)) {
      throw new ProtocolError('bad-batch', `stage:eval for batch ${msg.batchId}: stage ${st.index} reported this batch already`);
    }
  }

  async onCheckpoint(deviceId: string, msg: StageCheckpoint): Promise<void> {
    const st = this.stageOf(deviceId, msg.stage, EVENTS.stageCheckpoint);
    checkPayloadSize(EVENTS.stageCheckpoint, msg, checkpointBytesBound(this.model!, st.firstModule, st.lastModule) * 2);
    st.bytesOut += msg.weights.byteLength;
    const row = await this.deps.checkpoints.save(this.id, st.index, msg.epoch, msg.step, msg.weights);
    st.lastCheckpointStep = Math.max(st.lastCheckpointStep ?? -1, row.step);
    if (this.finishing) this.maybeDone();
  }

  // ---- views ----

  progress(): JobProgress | null {
    return this.cursor?.progress() ?? null;
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

  stageViews(): StageView[] {
    return this.stages.map((s) => s.view());
  }

  // ---- internals ----

  private sendAssign(st: StageState, checkpoint: Uint8Array<ArrayBuffer> | undefined, step: number): void {
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
    for (const id of [...this.batches.keys()]) if (id < this.staleBelow) this.batches.delete(id);
    this.cursor!.rewind();
    this.deps.config.log(`job ${this.id}: resuming at ${this.cursor!.describe()}`);
    this.setStatus('running');
  }

  private stageOf(deviceId: string, stage: number, event: string): StageState {
    const st = this.stages[stage];
    if (!st || st.deviceId !== deviceId || st.lost || this.finished) {
      throw new ProtocolError('not-assigned', `${event}: this device does not hold stage ${stage} of job ${this.id}`);
    }
    return st;
  }

  /**
   * The batch an answer (output/done) is for, after checking it is in flight
   * at this stage; undefined for answers to batches from before a pause,
   * which only give the credit back.
   */
  private answerOf(st: StageState, batchId: number, phase: Phase, event: string): BatchInfo | undefined {
    const info = this.inFlightInfo(st, batchId, event);
    if (!info) {
      st.inFlight.delete(batchId);
      this.pump();
      return undefined;
    }
    if (phase !== info.phase) {
      throw new ProtocolError('bad-schema', `${event} for batch ${batchId}: phase is ${phase} but the batch was sent as ${info.phase}`);
    }
    return info;
  }

  /** Info of a batch in flight at `st`; undefined for a stale one (from before a pause). */
  private inFlightInfo(st: StageState, batchId: number, event: string): BatchInfo | undefined {
    if (batchId < this.staleBelow) return undefined;
    const info = this.batches.get(batchId);
    if (!info || !st.inFlight.has(batchId)) {
      throw new ProtocolError('bad-batch', `${event} for batch ${batchId}: batch ${batchId} is not in flight at stage ${st.index} (never sent to it, or answered already)`);
    }
    return info;
  }

  private checkModules(st: StageState, modules: number[], event: string): void {
    const want = Array.from({ length: st.lastModule - st.firstModule + 1 }, (_, i) => st.firstModule + i);
    if (modules.length !== want.length || modules.some((m, i) => m !== want[i])) {
      throw new ProtocolError('bad-schema', `${event}: modules [${modules.join(',')}] reported, stage ${st.index} holds modules [${want.join(',')}]: send one entry per module, in order`);
    }
  }

  private pump(): void {
    if (this.status !== 'running' || this.finishing) return;
    const credits = this.deps.config.credits;
    // Downstream first: a stage sends only when the queue in front of the next stage has room.
    for (let s = this.stages.length - 1; s >= 0; s--) {
      const st = this.stages[s]!;
      const next = this.stages[s + 1];
      while (st.inFlight.size < credits && (!next || next.queue.length < credits)) {
        const input = s === 0 ? this.nextFeed() : st.queue.shift();
        if (!input) break;
        st.inFlight.set(input.batchId, Date.now());
        st.bytesIn += payloadByteSize(input);
        this.deps.send(st.deviceId, EVENTS.stageInput, input);
      }
    }
  }

  private nextFeed(): StageInput | undefined {
    const b = this.cursor!.next();
    if (!b) return undefined;
    const batchId = this.nextBatchId++;
    const info: BatchInfo = { phase: b.phase, epoch: b.epoch, index: b.index, step: b.step, n: b.n };
    const input: StageInput = { jobId: this.id, stage: 0, batchId, epoch: b.epoch, step: b.step, phase: b.phase, labels: b.labels, images: b.images };
    if (b.phase === 'train') {
      input.augmentSeed = b.augmentSeed!;
      input.lr = info.lr = b.lr!;
      if (b.checkpointAfter) input.checkpointAfter = info.checkpointAfter = true;
    }
    this.batches.set(batchId, info);
    return input;
  }

  private finishEpoch(): void {
    const cursor = this.cursor!;
    const epoch = cursor.epoch;
    const { testError, moduleErrors } = cursor.tally.result(this.model!.moduleCount);
    const errors = this.spec.loss === 'supcon' ? moduleErrors.map(() => null) : moduleErrors;
    this.deps.metrics.insertEpoch(this.id, { epoch, testError, moduleErrors: errors, at: Date.now() });
    this.deps.dashEpoch({ jobId: this.id, epoch, testError, moduleErrors: errors });
    this.deps.config.log(`job ${this.id}: epoch ${epoch} test error ${testError?.toFixed(2) ?? '-'}%`);
    if (cursor.nextEpoch()) {
      this.pump();
      return;
    }
    this.finishing = true;
    this.finishTimer = setTimeout(() => this.maybeDone(true), FINAL_CHECKPOINT_WAIT_MS);
    this.maybeDone();
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
  }
}
