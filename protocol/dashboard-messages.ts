import { z } from 'zod';
import type { ModuleStat } from './metrics-messages.js';
import type { CutView, StageView } from './rest-messages.js';

/**
 * Live feed for dashboards: a Socket.IO client (same parser as devices) sends
 * `dash:subscribe` and is put in the `dashboard` room; it then receives a
 * coarse `dash:state` every second and `dash:metrics` / `dash:epoch` as they
 * happen. Read-only: nothing here changes a job.
 */
export const DASHBOARD_EVENTS = {
  subscribe: 'dash:subscribe',
  state: 'dash:state',
  metrics: 'dash:metrics',
  epoch: 'dash:epoch',
} as const;

/** Socket.IO room dashboards are put in. */
export const DASHBOARD_ROOM = 'dashboard';

/** client -> server: join the dashboard room (no fields yet). */
export const dashSubscribeSchema = z.strictObject({});
export type DashSubscribe = z.infer<typeof dashSubscribeSchema>;

export interface DashDevice {
  id: string;
  name: string;
  kind: 'node' | 'browser';
  backend: string;
  status: 'idle' | 'busy' | 'lost';
  speedGflops: number;
  memoryBytes: number;
  rttMs: number | null;
  bandwidthBytesPerSec: number | null;
  jobId: string | null;
  stage: number | null;
}

export interface DashJob {
  id: string;
  status: string;
  model: string;
  modules: number;
  dataset: string;
  /** 1-based epoch being trained or evaluated. */
  epoch: number;
  epochs: number;
  /** Training batches the last stage finished, over all epochs. */
  stepsDone: number;
  totalSteps: number;
  error: string | null;
  /** Context mode (`E`, `R1`, ...): which earlier tensors each module also reads. */
  context: string;
  batchSize: number;
  /** Phase being fed; null before the first batch and once finished. */
  phase: 'train' | 'eval' | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Why a waiting or paused job is not running (null otherwise). */
  waitingFor: string | null;
  /** The plan with live counters, one entry per stage; empty until planned. */
  stages: DashStage[];
  /** Per cut between stages: direct or relayed and its bytes (the REST view's). */
  cuts: CutView[];
  /** Tensor bytes the coordinator relayed for the job. */
  relayedTensorBytes: number;
}

/**
 * One stage of a live job: the REST view's device, module range and counters
 * (cumulative; rates are the dashboard's), plus the device's name.
 */
export type DashStage = Pick<
  StageView,
  | 'stage'
  | 'deviceId'
  | 'firstModule'
  | 'lastModule'
  | 'ready'
  | 'lost'
  | 'samples'
  | 'samplesPerSec'
  | 'bytesIn'
  | 'bytesOut'
  | 'inFlight'
  | 'queued'
  | 'estimatedMsPerBatch'
  | 'measuredMsPerBatch'
> & { deviceName: string };

/** server -> dashboard, every second. */
export interface DashState {
  at: number;
  /** Inputs in flight per stage (the inbox bound). */
  credits: number;
  devices: DashDevice[];
  jobs: DashJob[];
}

/** server -> dashboard, per stage per training step. */
export interface DashMetrics {
  jobId: string;
  stage: number;
  epoch: number;
  step: number;
  modules: ModuleStat[];
  samplesPerSec: number;
}

/** server -> dashboard, when an epoch's evaluation is complete. */
export interface DashEpoch {
  jobId: string;
  epoch: number;
  testError: number | null;
  moduleErrors: Array<number | null>;
}
