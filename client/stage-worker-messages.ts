import type { StageInput } from '../protocol/data-messages.js';
import type { ProtocolErrorCode } from '../protocol/errors.js';
import type { StageAssign } from '../protocol/stage-messages.js';
import type { NodeBackendName } from '../engine/backend/backend-names.js';
import type { StageReplies } from './stage-host.js';
import type { StageLayout } from './stage-layout.js';

/** What the Node device's stage worker is started with (workerData). */
export interface StageWorkerSetup {
  /** Backend to force; undefined: the best available. */
  backend?: NodeBackendName;
  threads: number;
  /** Test/bench aid: the worker sleeps this long per module the stage holds, per batch (0: off). */
  slowStepMs: number;
}

/** Main thread -> worker. `id` pairs a request with its answer. */
export type ToStageWorker =
  | { type: 'speed'; id: number }
  | { type: 'build'; id: number; host: number; assign: StageAssign }
  | { type: 'run'; id: number; host: number; input: StageInput }
  | { type: 'dispose'; host: number };

/** Why a request failed; `code` set when it was a ProtocolError (it goes back to the coordinator as is). */
export interface StageWorkerFailure {
  code?: ProtocolErrorCode;
  message: string;
}

/** Worker -> main thread. */
export type FromStageWorker =
  | { type: 'log'; message: string }
  | { type: 'started'; backend: NodeBackendName; detail: string; threadsInUse: number | null; adapter: string | null }
  | { type: 'start-failed'; message: string }
  | { type: 'answer'; id: number; ok: true; speed?: number; resumedStep?: number | null; layout?: StageLayout; replies?: StageReplies }
  | { type: 'answer'; id: number; ok: false; failure: StageWorkerFailure };
