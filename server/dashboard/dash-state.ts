import type { DashJob, DashState, DeviceView } from '../../protocol/index.js';
import type { JobRunner } from '../pipeline/job-runner.js';

/** The `dash:state` snapshot: every device and every job of this coordinator run, with live stage counters. */
export function dashState(credits: number, devices: DeviceView[], runners: JobRunner[]): DashState {
  const names = new Map(devices.map((d) => [d.id, d.name]));
  return {
    at: Date.now(),
    credits,
    devices: devices.map((d) => ({
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
    jobs: runners.map((r) => dashJob(r, (id) => names.get(id) ?? id)),
  };
}

function dashJob(r: JobRunner, deviceName: (id: string) => string): DashJob {
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
      deviceName: deviceName(v.deviceId),
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
    cuts: r.cutViews(),
    relayedTensorBytes: r.relayedTensorBytes,
  };
}
