import { randomBytes } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Dataset } from '../../engine/data/dataset.js';
import { loadDataset } from '../../engine/data/load-dataset.js';
import { combineStages } from '../../engine/train/checkpoint-format.js';
import {
  EVENTS,
  ProtocolError,
  parseJobSpec,
  type DashState,
  type DeviceToServerPayloads,
  type JobSpec,
} from '../../protocol/index.js';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config.js';
import { DashboardService } from '../dashboard/dashboard.service.js';
import { DevicesService, type DeviceRecord } from '../devices/devices.service.js';
import { plannerModel } from '../pipeline/job-model.js';
import { JobRunner } from '../pipeline/job-runner.js';
import { planStages, type PlannerDevice } from '../planner/planner.js';
import { CheckpointStore } from '../storage/checkpoint.store.js';
import { FINISHED_STATUSES, MetricsStore } from '../storage/metrics.store.js';
import { detailOf, summaryOf, type JobDetail, type JobSummary } from './job-views.js';

/** A device's network before it was probed (or when it never answered a probe). */
const DEFAULT_BANDWIDTH = 100e6;
const DEFAULT_RTT_MS = 1;

/** The stage events a job's runner handles. */
export type StageEvent = 'stage:ready' | 'stage:output' | 'stage:done' | 'stage:metrics' | 'stage:eval' | 'stage:checkpoint';

/** Thrown for REST requests that name no job. */
export class JobNotFoundError extends Error {}
/** Thrown for REST requests the job's state does not allow. */
export class JobConflictError extends Error {}

/**
 * Jobs: creation from REST, scheduling onto idle devices with the planner,
 * routing stage messages to each job's runner, re-assigning lost stages, and
 * the views REST and dashboards read. History lives in SQLite.
 */
@Injectable()
export class JobsService implements OnModuleDestroy {
  private readonly runners = new Map<string, JobRunner>();
  private scheduling = false;
  private scheduleAgain = false;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(DevicesService) private readonly devices: DevicesService,
    @Inject(MetricsStore) private readonly metrics: MetricsStore,
    @Inject(CheckpointStore) private readonly checkpoints: CheckpointStore,
    @Inject(DashboardService) private readonly dashboard: DashboardService,
  ) {
    const failed = metrics.failUnfinished('coordinator restarted');
    if (failed > 0) config.log(`${failed} unfinished job(s) of an earlier run marked failed`);
    devices.onAvailable(() => this.schedule());
    devices.onLost((id) => this.deviceLost(id));
    devices.setComputing((id) => [...this.runners.values()].some((r) => r.computing(id)));
    dashboard.setStateSource(() => this.dashState());
  }

  onModuleDestroy(): void {
    for (const r of this.runners.values()) r.shutdown();
  }

  /** `POST /api/jobs`: throws ProtocolError('bad-schema') naming every bad field. */
  create(body: unknown): JobDetail {
    const spec = parseJobSpec(body);
    const id = `job-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const createdAt = Date.now();
    this.metrics.insertJob({ id, spec, status: 'waiting', plan: [], modelConfig: null, createdAt, startedAt: null, finishedAt: null, error: null });
    const runner = new JobRunner(id, spec, createdAt, {
      config: this.config,
      metrics: this.metrics,
      checkpoints: this.checkpoints,
      loadData: (s) => this.loadData(s),
      send: (deviceId, event, payload) => this.devices.send(deviceId, event, payload),
      deviceName: (deviceId) => this.devices.get(deviceId)?.name ?? deviceId,
      freeDevice: (deviceId) => {
        if (this.devices.get(deviceId)?.jobId === id) this.devices.setIdle(deviceId);
      },
      changed: () => this.schedule(),
      dashMetrics: (m) => this.dashboard.metrics(m),
      dashEpoch: (e) => this.dashboard.epoch(e),
    });
    this.runners.set(id, runner);
    this.config.log(`job ${id} created: ${spec.model} K=${spec.modules} ${spec.context} on ${spec.dataset}, ${spec.epochs} epoch(s)`);
    void runner.prepare();
    return this.get(id);
  }

  list(): JobSummary[] {
    return this.metrics.listJobs().map((row) => summaryOf(row, this.runners.get(row.id), this.metrics.listEpochs(row.id)));
  }

  get(id: string): JobDetail {
    const row = this.metrics.getJob(id);
    if (!row) throw new JobNotFoundError(`job ${id} does not exist; GET /api/jobs lists the jobs`);
    return detailOf(row, this.runners.get(id), this.metrics.listEpochs(id));
  }

  stop(id: string): JobDetail {
    const detail = this.get(id);
    const runner = this.runners.get(id);
    if (!runner || FINISHED_STATUSES.includes(detail.status)) throw new JobConflictError(`job ${id} is ${detail.status} already`);
    runner.stop('stopped by the user');
    return this.get(id);
  }

  /** The trained model file (engine/train/checkpoint.ts format) from each stage's latest checkpoint. */
  async model(id: string): Promise<Uint8Array> {
    const row = this.metrics.getJob(id);
    if (!row) throw new JobNotFoundError(`job ${id} does not exist; GET /api/jobs lists the jobs`);
    const runner = this.runners.get(id);
    const plan = runner && runner.stages.length > 0 ? runner.plan() : row.plan;
    if (!row.modelConfig || plan.length === 0) throw new JobConflictError(`job ${id} has not started; there is no model yet`);
    const rows = plan.map((p) => this.checkpoints.latest(id, p.stage));
    const missing = plan.filter((_, i) => !rows[i]).map((p) => p.stage);
    if (missing.length > 0) {
      throw new JobConflictError(`job ${id} has no checkpoint yet for stage(s) ${missing.join(', ')}; stages checkpoint at the end of every epoch (and every checkpointEvery steps)`);
    }
    const stages = await Promise.all(rows.map((r) => this.checkpoints.read(r!)));
    try {
      return combineStages(row.modelConfig, stages);
    } catch (err: unknown) {
      throw new JobConflictError(`job ${id}: the stored checkpoints do not make a model: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Routes one validated stage message to its job's runner (ProtocolError on a violation). */
  async stageMessage<E extends StageEvent>(deviceId: string, event: E, msg: DeviceToServerPayloads[E]): Promise<void> {
    const runner = this.runners.get(msg.jobId);
    if (!runner) throw new ProtocolError('not-assigned', `${event}: job ${msg.jobId} is not running on this coordinator`);
    switch (event) {
      case EVENTS.stageReady:
        return runner.onReady(deviceId, msg as DeviceToServerPayloads['stage:ready']);
      case EVENTS.stageOutput:
        return runner.onOutput(deviceId, msg as DeviceToServerPayloads['stage:output']);
      case EVENTS.stageDone:
        return runner.onDone(deviceId, msg as DeviceToServerPayloads['stage:done']);
      case EVENTS.stageMetrics:
        return runner.onMetrics(deviceId, msg as DeviceToServerPayloads['stage:metrics']);
      case EVENTS.stageEval:
        return runner.onEval(deviceId, msg as DeviceToServerPayloads['stage:eval']);
      case EVENTS.stageCheckpoint:
        return runner.onCheckpoint(deviceId, msg as DeviceToServerPayloads['stage:checkpoint']);
    }
  }

  /**
   * Gives idle devices work: first the lost stages of paused jobs, then
   * waiting jobs in creation order. Re-entrant calls (a finishing job frees
   * devices) run the loop again instead of nesting.
   */
  schedule(): void {
    if (this.scheduling) {
      this.scheduleAgain = true;
      return;
    }
    this.scheduling = true;
    try {
      do {
        this.scheduleAgain = false;
        this.reassignLost();
        this.startWaiting();
      } while (this.scheduleAgain);
    } finally {
      this.scheduling = false;
    }
  }

  private reassignLost(): void {
    for (const runner of this.runners.values()) {
      for (const st of runner.lostStages()) {
        const need = runner.stageMemoryBytes(st.firstModule, st.lastModule);
        const device = this.devices
          .idle()
          .filter((d) => d.memoryBytes >= need)
          .sort((a, b) => b.speedGflops - a.speedGflops)[0];
        if (!device) continue;
        this.devices.setBusy(device.id, runner.id, st.index);
        void runner.reassign(st, device.id);
      }
    }
  }

  private startWaiting(): void {
    for (const runner of this.runners.values()) {
      if (runner.status !== 'waiting' || !runner.prepared || runner.stages.length > 0) continue;
      const idle = this.devices.idle();
      if (idle.length < runner.spec.minDevices) {
        runner.waitingFor = `${runner.spec.minDevices} idle device(s), ${idle.length} available`;
        continue;
      }
      const plan = planStages({
        devices: idle.map(toPlannerDevice),
        model: plannerModel(runner.model!),
        batchSize: runner.spec.batchSize,
        minDevices: runner.spec.minDevices,
        efficiency: this.config.planEfficiency,
      });
      if (!plan.ok) {
        runner.waitingFor = plan.reason;
        continue;
      }
      plan.stages.forEach((p, s) => this.devices.setBusy(p.deviceId, runner.id, s));
      this.config.log(`job ${runner.id} planned: ${plan.stages.map((p) => `${p.deviceId}[${p.firstModule}..${p.lastModule}] ~${p.estimatedMsPerBatch.toFixed(0)} ms`).join(', ')}`);
      runner.start(plan.stages);
    }
  }

  private deviceLost(deviceId: string): void {
    for (const runner of this.runners.values()) runner.deviceLost(deviceId);
    this.schedule();
  }

  private loadData(spec: JobSpec): Promise<Dataset> {
    // A coordinator has a log, not a terminal: downloads report every quarter.
    const reported = new Map<string, number>();
    return loadDataset(spec.dataset, {
      dataDir: this.config.datasetDir,
      limitTrain: spec.limitTrain,
      limitTest: spec.limitTest,
      seed: spec.seed,
      onProgress: ({ file, received, total }) => {
        const quarter = total ? Math.floor((4 * received) / total) : 0;
        if ((reported.get(file) ?? -1) >= quarter) return;
        reported.set(file, quarter);
        this.config.log(`downloading ${file}: ${total ? `${quarter * 25}%` : `${received} bytes`}`);
      },
    });
  }

  private dashState(): DashState {
    return {
      at: Date.now(),
      credits: this.config.credits,
      devices: this.devices.list().map((d) => ({
        id: d.id,
        name: d.name,
        kind: d.kind,
        backend: d.backend,
        status: d.status,
        speedGflops: d.speedGflops,
        memoryBytes: d.memoryBytes,
        rttMs: d.rttMs,
        bandwidthBytesPerSec: d.bandwidthBytesPerSec,
        jobId: d.jobId,
        stage: d.stage,
      })),
      jobs: [...this.runners.values()].map((r) => {
        const p = r.progress();
        return {
          id: r.id,
          status: r.status,
          model: r.spec.model,
          modules: r.spec.modules,
          dataset: r.spec.dataset,
          epoch: p?.epoch ?? 1,
          epochs: r.spec.epochs,
          stepsDone: p?.stepsDone ?? 0,
          totalSteps: p?.totalSteps ?? 0,
          error: r.error,
          context: r.spec.context,
          batchSize: r.spec.batchSize,
          phase: p && !r.finished ? p.phase : null,
          createdAt: r.createdAt,
          startedAt: r.startedAt,
          finishedAt: r.finishedAt,
          waitingFor: r.finished ? null : r.waitingFor,
          stages: r.stageViews().map((v) => ({
            stage: v.stage,
            deviceId: v.deviceId,
            deviceName: this.devices.get(v.deviceId)?.name ?? v.deviceId,
            firstModule: v.firstModule,
            lastModule: v.lastModule,
            ready: v.ready,
            lost: v.lost,
            samples: v.samples,
            samplesPerSec: v.samplesPerSec,
            bytesIn: v.bytesIn,
            bytesOut: v.bytesOut,
            inFlight: v.inFlight,
            queued: v.queued,
            estimatedMsPerBatch: v.estimatedMsPerBatch,
            measuredMsPerBatch: v.measuredMsPerBatch,
          })),
        };
      }),
    };
  }
}

function toPlannerDevice(d: DeviceRecord): PlannerDevice {
  return {
    id: d.id,
    speedGflops: d.speedGflops,
    memoryBytes: d.memoryBytes,
    bandwidthBytesPerSec: d.bandwidthBytesPerSec ?? DEFAULT_BANDWIDTH,
    rttMs: d.rttMs ?? DEFAULT_RTT_MS,
  };
}
