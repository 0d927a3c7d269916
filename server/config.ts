import { COORDINATOR_DEFAULTS } from '../protocol/defaults.js';
import type { RebalanceRule } from './planner/rebalance-policy.js';

/**
 * Settings of one coordinator instance, fixed at start. Provided to every
 * NestJS service under COORDINATOR_CONFIG.
 */
export interface CoordinatorConfig {
  dataDir: string;
  /** Secret a device sends in `device:join`. */
  joinToken: string;
  /** Bearer token REST mutations need. */
  adminToken: string;
  /** Period devices send `device:heartbeat` at; 3 missed periods mark a device lost. */
  heartbeatMs: number;
  /** Inputs in flight per stage (runtime.md, flow control). */
  credits: number;
  /**
   * Largest message the coordinator accepts (Socket.IO maxHttpBufferSize, which
   * is also the WebSocket's max payload). Jobs whose outputs or checkpoints
   * would not fit are refused when they are prepared.
   */
  maxMessageBytes: number;
  /** A connection that has neither joined nor subscribed within this is closed (docs/runtime.md, Limits). */
  joinWindowMs: number;
  /** Where real data sets are searched and downloaded (default: the loader's cache). */
  datasetDir?: string;
  /** Fraction of a device's matMul benchmark speed that training reaches (planner). */
  planEfficiency: number;
  /** Shortest deadline a batch gets at a stage, ms (docs/runtime.md, deadlines). */
  deadlineFloorMs: number;
  /** Longest deadline a batch gets at a stage, ms. */
  deadlineCapMs: number;
  /** A stage given to a device (job start, recovery) must report ready within this, ms (docs/runtime.md, deadlines). */
  readyTimeoutMs: number;
  /** Re-planning from measured stage times (server/planner/rebalance-policy.ts); false: off. */
  rebalance: RebalanceRule | false;
  log: (message: string) => void;
}

export const COORDINATOR_CONFIG = Symbol('COORDINATOR_CONFIG');

export const DEFAULT_HEARTBEAT_MS = COORDINATOR_DEFAULTS.heartbeatMs;
export const DEFAULT_CREDITS = COORDINATOR_DEFAULTS.credits;
/** COORDINATOR_DEFAULTS.maxMessageMib (its size is explained there), in bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = COORDINATOR_DEFAULTS.maxMessageMib * 1024 * 1024;
/** tfjs conv training reaches roughly half of the matMul rate devices report. */
export const DEFAULT_PLAN_EFFICIENCY = 0.5;
/** A batch's deadline is never shorter than this (a first tfjs step can take seconds). */
export const DEFAULT_DEADLINE_FLOOR_MS = 10_000;
/** Nor longer than this. */
export const DEFAULT_DEADLINE_CAP_MS = 10 * 60_000;
/**
 * Building a stage from scratch: backend start-up, shader compilation on a
 * software WebGPU adapter (tens of seconds), a checkpoint download to a
 * browser. Generous: it only has to end a wait that would otherwise never end.
 */
export const DEFAULT_READY_TIMEOUT_MS = 3 * 60_000;
/** Missed heartbeat periods before a device counts as lost. */
export const MISSED_BEATS = 3;
