import type { JobSpec } from './job-spec.js';
import type { Phase } from './schema-common.js';

/**
 * The JSON answers of the coordinator's REST API (/api/...). The coordinator
 * returns exactly these shapes and the dashboard reads them, so both import
 * them from here. Types only: REST answers are not validated at run time.
 */

export type JobStatus = 'waiting' | 'running' | 'paused' | 'done' | 'failed' | 'stopped';

/** Where a job is in its schedule. */
export interface JobProgress {
  /** 1-based epoch being trained or evaluated. */
  epoch: number;
  phase: Phase;
  batchesPerEpoch: number;
  evalBatches: number;
  totalSteps: number;
  /** Training batches the last stage finished, over all epochs. */
  stepsDone: number;
}

/** One stage of a job's plan, as stored and shown. */
export interface PlanEntry {
  stage: number;
  deviceId: string;
  deviceName: string;
  firstModule: number;
  lastModule: number;
  estimatedMsPerBatch: number;
  measuredMsPerBatch: number | null;
}

/** Live counters of one stage of a running job. */
export interface StageView {
  stage: number;
  deviceId: string;
  firstModule: number;
  lastModule: number;
  ready: boolean;
  lost: boolean;
  /** Training samples this stage finished. */
  samples: number;
  /** Throughput the device last reported. */
  samplesPerSec: number;
  /** Bytes the coordinator sent this stage (stage:input payloads). */
  bytesIn: number;
  /** Bytes this stage sent the coordinator (stage:output / checkpoints). */
  bytesOut: number;
  /** Inputs sent and not yet answered (at most `credits`). */
  inFlight: number;
  /** Outputs of the previous stage waiting for a credit here. */
  queued: number;
  estimatedMsPerBatch: number;
  /** Service time per batch, smoothed over about the last 5 answers. */
  measuredMsPerBatch: number | null;
  /** Mean service time of this stage's training batches after its first (which carries tfjs warm-up); null before two. */
  meanTrainMsPerBatch: number | null;
  lastCheckpointStep: number | null;
  /** Batch deadlines this stage missed (docs/runtime.md, deadlines). */
  missedDeadlines: number;
  /** Answers of this stage refused since its last accepted one. */
  refusedInARow: number;
  /** Training steps every module of this stage was trained on (the job's stepsDone less missedSteps). */
  trainedSteps: number;
  /** Global steps [from, to) this stage's modules missed: restored from an older checkpoint than feeding resumed at. */
  missedSteps: Array<{ from: number; to: number }>;
  /** Global steps [from, to) this stage's modules trained on twice (fed again after a fault downstream). */
  repeatedSteps: Array<{ from: number; to: number }>;
}

/** The cut between two stages (docs/runtime.md, direct plane). */
export interface CutView {
  fromStage: number;
  toStage: number;
  /** direct: outputs go straight to the successor's device; relayed: through the coordinator. */
  mode: 'direct' | 'relayed';
  /** Tensor bytes that crossed the cut, either way. */
  bytes: number;
  /** Why the cut relays (no listener, a browser, the successor could not be reached); null when direct. */
  reason: string | null;
}

/** Something that happened to a job (a stage lost, a checkpoint refused), newest last in JobDetail.events. */
export interface JobEvent {
  at: number;
  /** Machine-readable, e.g. deadline-missed, stage-lost, bad-checkpoint. */
  code: string;
  stage: number | null;
  deviceId: string | null;
  message: string;
}

/** A re-split of a running job's modules from measured stage times (docs/runtime.md, re-planning), in JobDetail.replans. */
export interface JobReplan {
  at: number;
  /** The first step the new split trains (every stage handed over at this step's checkpoint). */
  step: number;
  from: Array<{ firstModule: number; lastModule: number }>;
  to: Array<{ firstModule: number; lastModule: number }>;
  /** Per stage, ms per batch measured before the move. */
  measuredMs: number[];
  /** Per stage, the cost model's ms per batch for the new split. */
  predictedMs: number[];
  reason: string;
}

/** The evaluation after one epoch (also what `dash:epoch` carries, less the job id). */
export interface EpochResult {
  epoch: number;
  /** Percent; null when the last stage reported no evaluation. */
  testError: number | null;
  /** Percent error of each local head but the last module's; null where a head cannot classify. */
  moduleErrors: Array<number | null>;
}

/** An epoch as stored: its evaluation and when it ended (ms since the epoch). */
export interface JobEpoch extends EpochResult {
  at: number;
}

/** A job in `GET /api/jobs`. */
export interface JobSummary {
  id: string;
  status: JobStatus;
  spec: JobSpec;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  /** Why a waiting or paused job is not running (null otherwise). */
  waitingFor: string | null;
  epochsDone: number;
  /** Null for jobs of an earlier coordinator run (no live state). */
  progress: JobProgress | null;
}

/** A job in `GET /api/jobs/:id`, `POST /api/jobs` and `POST /api/jobs/:id/stop`. */
export interface JobDetail extends JobSummary {
  plan: PlanEntry[];
  /** Live per-stage counters; empty for jobs of an earlier coordinator run. */
  stages: StageView[];
  epochs: JobEpoch[];
  /** Faults and recoveries of this run of the coordinator (the last 100). */
  events: JobEvent[];
  /** One entry per cut between stages: direct or relayed, and its bytes; empty for jobs of an earlier run. */
  cuts: CutView[];
  /** Tensor bytes of this job's stage outputs the coordinator relayed (0 when every cut is direct). */
  relayedTensorBytes: number;
  /** Re-splits of the modules made while the job ran (this run of the coordinator). */
  replans: JobReplan[];
  /** Label names (index = label) of an image-folder job, once its data is loaded by this coordinator run. */
  classNames?: string[];
}

/** A device in `GET /api/devices`. */
export interface DeviceView {
  id: string;
  name: string;
  kind: 'node' | 'browser';
  backend: string;
  memoryBytes: number;
  speedGflops: number;
  userAgent: string | null;
  /** The GPU adapter the device reported on join (webgpu); null on CPU backends. */
  adapter: string | null;
  /** Round trip of an empty net:probe; null until measured. */
  rttMs: number | null;
  /** Coordinator -> device throughput of a 256 KiB probe; null until measured. */
  bandwidthBytesPerSec: number | null;
  /** Where the device takes stage inputs from other devices (`contsup device --listen`); null without. */
  peerAddress: string | null;
  status: 'idle' | 'busy' | 'lost';
  joinedAt: number;
  lastSeen: number;
  jobId: string | null;
  stage: number | null;
}

/** A link measured from one device to another's peer listener (`GET /api/devices/links`). */
export interface PeerLinkView {
  from: string;
  to: string;
  /** Null when `from` could not reach `to` (then `error` says why). */
  rttMs: number | null;
  bandwidthBytesPerSec: number | null;
  error: string | null;
  measuredAt: number;
}

/** One module's stored training curve, averaged into buckets (`GET /api/jobs/:id/steps`). */
export interface ModuleHistory {
  module: number;
  /** Mean global step of each bucket. */
  step: number[];
  /** Mean local loss; null where every loss in the bucket was NaN/Infinity. */
  loss: Array<number | null>;
  /** Local head accuracy in percent; null where the head cannot classify (supcon). */
  accuracy: Array<number | null>;
}

/** `GET /api/jobs/:id/steps[?points=N]`: the curves of every module, at most N points each (default 1000). */
export interface StepHistory {
  jobId: string;
  modules: ModuleHistory[];
}

/** `GET /api/jobs/:id/test-images?count=N`: the first N images of a job's test set, for trying the model. */
export interface TestImages {
  height: number;
  width: number;
  channels: number;
  /** Class index of each image. */
  labels: number[];
  /** Each image as base64 of its uint8 HWC bytes. */
  images: string[];
}
