import { randomBytes } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { preprocessFor, type Dataset } from '../../engine/data/dataset.js';
import { loadDataset } from '../../engine/data/load-dataset.js';
import { applyDataRecipe, folderShapeFor } from '../../engine/data/recipe.js';
import { exportOnnx } from '../../engine/export/onnx.js';
import { combineStages } from '../../engine/train/checkpoint-format.js';
import { ProtocolError, isFolderDataset, parseJobSpec, type JobDetail, type JobSpec, type JobSummary, type TestImages } from '../../protocol/index.js';
import { ConflictError, NotFoundError } from '../common/errors.js';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config.js';
import { DashboardService } from '../dashboard/dashboard.service.js';
import { DevicesService, type DeviceEvent } from '../devices/devices.service.js';
import { plannerModel } from '../pipeline/job-model.js';
import { JobRunner } from '../pipeline/job-runner.js';
import { PipelineService } from '../pipeline/pipeline.service.js';
import { PlannerService } from '../planner/planner.service.js';
import { CheckpointStore } from '../storage/checkpoint.store.js';
import { FINISHED_STATUSES, MetricsStore } from '../storage/metrics.store.js';
import { detailOf, summaryOf } from './job-views.js';

/**
 * Jobs: creation from REST, scheduling onto idle devices with the planner
 * (whenever a device becomes available or is lost), re-assigning lost
 * stages, and the views REST reads. History lives in SQLite; the running
 * pipelines are PipelineService's.
 */
@Injectable()
export class JobsService implements OnModuleInit {
  private scheduling = false;
  private scheduleAgain = false;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(DevicesService) private readonly devices: DevicesService,
    @Inject(PipelineService) private readonly pipeline: PipelineService,
    @Inject(PlannerService) private readonly planner: PlannerService,
    @Inject(MetricsStore) private readonly metrics: MetricsStore,
    @Inject(CheckpointStore) private readonly checkpoints: CheckpointStore,
    @Inject(DashboardService) private readonly dashboard: DashboardService,
  ) {
    this.resumeUnfinished();
  }

  /**
   * Jobs an earlier run of this data dir left unfinished (it crashed or was
   * stopped): a waiting one waits again; a running or paused one resumes
   * from the newest checkpoint every stage has once enough devices rejoined
   * (docs/runtime.md, restart). One that cannot (its data set is gone, its
   * plan no longer fits) fails with the reason.
   */
  private resumeUnfinished(): void {
    const rows = this.metrics.unfinishedJobs();
    for (const row of rows) {
      const runner = this.addRunner(row.id, row.spec, row.createdAt);
      const started = row.status !== 'waiting' && row.plan.length > 0;
      if (started) runner.resumeAfterRestart(row.plan, row.startedAt);
      this.config.log(`job ${row.id} of an earlier run: ${started ? `resumes once ${row.plan.length} device(s) are idle` : 'waiting again'}`);
      void runner.prepare();
    }
  }

  onModuleInit(): void {
    // Kept for the service's whole life: devices lost while the coordinator closes still pause their jobs.
    this.devices.events$.subscribe((e) => this.deviceEvent(e));
  }

  /** `POST /api/jobs`: throws ProtocolError('bad-schema') naming every bad field. */
  create(body: unknown): JobDetail {
    const spec = parseJobSpec(body);
    const id = `job-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const createdAt = Date.now();
    this.metrics.insertJob({ id, spec, status: 'waiting', plan: [], modelConfig: null, createdAt, startedAt: null, finishedAt: null, error: null });
    const runner = this.addRunner(id, spec, createdAt);
    this.config.log(`job ${id} created: ${spec.model} K=${spec.modules} ${spec.context} on ${spec.dataset}, ${spec.epochs} epoch(s)`);
    void runner.prepare();
    return this.get(id);
  }

  private addRunner(id: string, spec: JobSpec, createdAt: number): JobRunner {
    const runner = new JobRunner(id, spec, createdAt, {
      config: this.config,
      metrics: this.metrics,
      checkpoints: this.checkpoints,
      loadData: (s) => this.loadData(s),
      send: (deviceId, event, payload) => this.devices.send(deviceId, event, payload),
      deviceName: (deviceId) => this.devices.get(deviceId)?.name ?? deviceId,
      deviceMemoryBytes: (deviceId) => this.devices.get(deviceId)?.memoryBytes ?? null,
      peerOf: (deviceId) => ({ kind: this.devices.get(deviceId)?.kind ?? 'browser', address: this.devices.get(deviceId)?.peerAddress ?? null }),
      freeDevice: (deviceId) => {
        if (this.devices.get(deviceId)?.jobId === id) this.devices.setIdle(deviceId);
      },
      dropDevice: (deviceId, code, message) => this.devices.drop(deviceId, code, message),
      changed: () => this.schedule(),
      dashMetrics: (m) => this.dashboard.metrics(m),
      dashEpoch: (e) => this.dashboard.epoch(e),
    });
    this.pipeline.add(runner);
    return runner;
  }

  list(): JobSummary[] {
    return this.metrics.listJobs().map((row) => summaryOf(row, this.pipeline.get(row.id), this.metrics.listEpochs(row.id)));
  }

  get(id: string): JobDetail {
    const row = this.metrics.getJob(id);
    if (!row) throw new NotFoundError(`job ${id} does not exist; GET /api/jobs lists the jobs`);
    return detailOf(row, this.pipeline.get(id), this.metrics.listEpochs(id));
  }

  stop(id: string): JobDetail {
    const detail = this.get(id);
    const runner = this.pipeline.get(id);
    if (!runner || FINISHED_STATUSES.includes(detail.status)) throw new ConflictError(`job ${id} is ${detail.status} already`);
    runner.stop('stopped by the user');
    return this.get(id);
  }

  /** The trained network as ONNX (engine/export/onnx.ts), its data set's normalisation inside the graph. */
  async onnx(id: string): Promise<Uint8Array> {
    const file = await this.model(id);
    // The normalisation the job trained with: its prepared data set's, else the built-in set's table.
    const dataset = this.metrics.getJob(id)!.spec.dataset;
    const prepared = this.pipeline.get(id)?.model?.data.preprocess;
    if (!prepared && isFolderDataset(dataset)) {
      throw new ConflictError(`job ${id}: its data set ${dataset} is not loaded by this coordinator run, so its normalisation is unknown; export from a running coordinator or with contsup export --model FILE --dataset NAME`);
    }
    const { mean, std } = prepared ?? preprocessFor(dataset as Exclude<typeof dataset, `folder:${string}`>);
    try {
      return exportOnnx(file, { mean, std, classNames: this.pipeline.get(id)?.model?.classNames ?? undefined });
    } catch (err: unknown) {
      throw new ConflictError(`job ${id}: its model file does not export to ONNX: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The first `count` (1..64) test images of a job's data set, for the dashboard's try-the-model panel. */
  async testImages(id: string, count: string | undefined): Promise<TestImages> {
    const n = count === undefined ? 16 : Number(count);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new ProtocolError('bad-schema', `count must be an integer 1..64, got ${JSON.stringify(count)}`);
    const row = this.metrics.getJob(id);
    if (!row) throw new NotFoundError(`job ${id} does not exist; GET /api/jobs lists the jobs`);
    const { test } = await this.loadData(row.spec);
    const size = test.height * test.width * test.channels;
    const take = Math.min(n, test.count);
    return {
      height: test.height,
      width: test.width,
      channels: test.channels,
      labels: Array.from(test.labels.subarray(0, take)),
      images: Array.from({ length: take }, (_, i) => Buffer.from(test.images.subarray(i * size, (i + 1) * size)).toString('base64')),
    };
  }

  /** The trained model file (engine/train/checkpoint.ts format) from each stage's latest checkpoint. */
  async model(id: string): Promise<Uint8Array> {
    const row = this.metrics.getJob(id);
    if (!row) throw new NotFoundError(`job ${id} does not exist; GET /api/jobs lists the jobs`);
    const runner = this.pipeline.get(id);
    const plan = runner && runner.stages.length > 0 ? runner.plan() : row.plan;
    if (!row.modelConfig || plan.length === 0) throw new ConflictError(`job ${id} has not started; there is no model yet`);
    const rows = plan.map((p) => this.checkpoints.latest(id, p.stage));
    const missing = plan.filter((_, i) => !rows[i]).map((p) => p.stage);
    if (missing.length > 0) {
      throw new ConflictError(`job ${id} has no checkpoint yet for stage(s) ${missing.join(', ')}; stages checkpoint at the end of every epoch (and every checkpointEvery steps)`);
    }
    const stages = await Promise.all(rows.map((r) => this.checkpoints.read(r!)));
    try {
      return combineStages(row.modelConfig, stages);
    } catch (err: unknown) {
      throw new ConflictError(`job ${id}: the stored checkpoints do not make a model: ${err instanceof Error ? err.message : String(err)}`);
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
    for (const runner of this.pipeline.all()) {
      for (const st of runner.lostStages()) {
        const need = runner.stageMemoryBytes(st.firstModule, st.lastModule);
        const device = this.planner.pickDevice(this.devices.idle(), need);
        if (!device) continue;
        this.devices.setBusy(device.id, runner.id, st.index);
        void runner.reassign(st, device.id);
      }
    }
  }

  private startWaiting(): void {
    for (const runner of this.pipeline.all()) {
      if (runner.status !== 'waiting' || !runner.prepared || runner.stages.length > 0) continue;
      const idle = this.devices.idle();
      if (idle.length < runner.spec.minDevices) {
        runner.waitFor(`${runner.spec.minDevices} idle device(s), ${idle.length} available`);
        continue;
      }
      const plan = this.planner.plan(idle, plannerModel(runner.model!), runner.spec.batchSize, runner.spec.minDevices, this.devices.peerLinks());
      if (!plan.ok) {
        runner.waitFor(plan.reason);
        continue;
      }
      plan.stages.forEach((p, s) => this.devices.setBusy(p.deviceId, runner.id, s));
      this.config.log(`job ${runner.id} planned: ${plan.stages.map((p) => `${p.deviceId}[${p.firstModule}..${p.lastModule}] ~${p.estimatedMsPerBatch.toFixed(0)} ms`).join(', ')}`);
      runner.start(plan.stages);
    }
  }

  private deviceEvent(e: DeviceEvent): void {
    if (e.type === 'lost') for (const runner of this.pipeline.all()) runner.deviceLost(e.deviceId);
    this.schedule();
  }

  /** The job's data set as its recipe feeds it (input shape, augmentation); as loaded when it has no recipe. */
  private async loadData(spec: JobSpec): Promise<Dataset> {
    const recipe = spec.recipe ?? {};
    // A coordinator has a log, not a terminal: downloads report every quarter.
    const reported = new Map<string, number>();
    const data = await loadDataset(spec.dataset, {
      ...folderShapeFor(recipe),
      dataDir: this.config.datasetDir,
      limitTrain: spec.limitTrain,
      limitTest: spec.limitTest,
      seed: spec.seed,
      onWarning: (m) => this.config.log(`data set ${spec.dataset}: warning: ${m}`),
      onProgress: ({ file, received, total }) => {
        const quarter = total ? Math.floor((4 * received) / total) : 0;
        if ((reported.get(file) ?? -1) >= quarter) return;
        reported.set(file, quarter);
        this.config.log(`downloading ${file}: ${total ? `${quarter * 25}%` : `${received} bytes`}`);
      },
    });
    return spec.recipe === undefined ? data : applyDataRecipe(data, recipe);
  }
}
