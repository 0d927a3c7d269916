import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeviceView, JobStatus } from '../../protocol/index.js';
import { RefusalTally } from '../common/refusal-tally.js';
import { DevicesService } from '../devices/devices.service.js';
import { PipelineService } from '../pipeline/pipeline.service.js';
import { MetricsStore } from '../storage/metrics.store.js';

// Every state is exported, at 0 when empty, so a dashboard's series never vanish.
const DEVICE_STATES: readonly DeviceView['status'][] = ['idle', 'busy', 'lost'];
const JOB_STATUSES: readonly JobStatus[] = ['waiting', 'running', 'paused', 'done', 'failed', 'stopped'];

/**
 * The coordinator's Prometheus metrics (`GET /metrics`). Values are read from
 * the services when scraped, so nothing on the training path changes for
 * them. Its own registry: several coordinators can share one process.
 */
@Injectable()
export class MonitoringService {
  private readonly registry = new Registry();

  constructor(
    @Inject(DevicesService) devices: DevicesService,
    @Inject(PipelineService) pipeline: PipelineService,
    @Inject(MetricsStore) store: MetricsStore,
    @Inject(RefusalTally) refusals: RefusalTally,
  ) {
    const registers = [this.registry];
    // Process figures, nodejs_eventloop_lag_seconds among them.
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'contsup_devices',
      help: 'Devices known to the coordinator, by state (lost ones are kept up to a bound).',
      labelNames: ['state'],
      registers,
      collect() {
        const list = devices.list();
        for (const state of DEVICE_STATES) this.set({ state }, list.filter((d) => d.status === state).length);
      },
    });
    new Gauge({
      name: 'contsup_jobs',
      help: 'Jobs in the coordinator history, by status.',
      labelNames: ['status'],
      registers,
      collect() {
        const rows = store.listJobs();
        for (const status of JOB_STATUSES) this.set({ status }, rows.filter((r) => r.status === status).length);
      },
    });
    new Gauge({
      name: 'contsup_stage_samples_per_second',
      help: 'Training samples per second each stage of an unfinished job last reported.',
      labelNames: ['job', 'stage'],
      registers,
      collect() {
        this.reset();
        for (const r of pipeline.all()) {
          if (r.finished) continue;
          for (const st of r.stages) this.set({ job: r.id, stage: String(st.index) }, st.samplesPerSec);
        }
      },
    });
    new Counter({
      name: 'contsup_relayed_bytes_total',
      help: 'Bytes the coordinator sent to (direction=in) and received from (direction=out) each stage of an unfinished job.',
      labelNames: ['job', 'stage', 'direction'],
      registers,
      collect() {
        // The stages keep the running totals; the counter mirrors them at each scrape.
        this.reset();
        for (const r of pipeline.all()) {
          if (r.finished) continue;
          for (const st of r.stages) {
            this.inc({ job: r.id, stage: String(st.index), direction: 'in' }, st.bytesIn);
            this.inc({ job: r.id, stage: String(st.index), direction: 'out' }, st.bytesOut);
          }
        }
      },
    });
    new Counter({
      name: 'contsup_refused_messages_total',
      help: 'Socket.IO messages the coordinator refused, by error code.',
      labelNames: ['code'],
      registers,
      collect() {
        this.reset();
        for (const [code, n] of refusals.byCode()) this.inc({ code }, n);
      },
    });
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
