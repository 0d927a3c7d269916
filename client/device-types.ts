import type { ManagerOptions, Socket, SocketOptions } from 'socket.io-client';
import type { DeviceToServerEvents, ServerToDeviceEvents } from '../protocol/events.js';
import type { JobSpec } from '../protocol/job-spec.js';
import type { StageInput } from '../protocol/data-messages.js';
import type { StageEval, StageMetrics } from '../protocol/metrics-messages.js';
import type { PeerListen, PeerPrev } from '../protocol/peer-messages.js';
import type { StageHostFactory } from './stage-host.js';

export type DeviceSocket = Socket<ServerToDeviceEvents, DeviceToServerEvents>;

/** Makes the (not yet connected) socket; the default is socket.io-client's io(). */
export type DeviceSocketFactory = (url: string, options: Partial<ManagerOptions & SocketOptions>) => DeviceSocket;

export type DeviceLogLevel = 'info' | 'warn' | 'error';
export type DeviceLog = (level: DeviceLogLevel, message: string) => void;

/**
 * idle: not started. connecting: socket opening or join sent. joined: welcomed.
 * reconnecting: lost the coordinator, retrying with backoff. rejected: the
 * coordinator refused the join (bad token, protocol version); no retry.
 * stopped: stop() was called.
 */
export type DeviceState = 'idle' | 'connecting' | 'joined' | 'reconnecting' | 'rejected' | 'stopped';

export interface DeviceStatus {
  state: DeviceState;
  /** Assigned by the coordinator in device:welcome; null until then. */
  deviceId: string | null;
  detail?: string;
}

export interface DeviceStageInfo {
  jobId: string;
  stage: number;
  firstModule: number;
  lastModule: number;
  job: JobSpec;
  state: 'building' | 'ready';
  /** Step of the checkpoint the stage was built from; null for fresh weights. */
  resumedStep: number | null;
}

export type DeviceMetrics = { kind: 'train'; metrics: StageMetrics } | { kind: 'eval'; eval: StageEval };

/** Something went wrong: an `error` from the coordinator or an input/assignment this device refused. */
export interface DeviceProblem {
  /** A protocol error code ('bad-tensor', 'not-assigned', 'bad-token', ...) or 'device-error'. */
  code: string;
  message: string;
  event?: string;
  batchId?: number;
  /** True when the coordinator sent it; false when this device refused something. */
  fromCoordinator: boolean;
}

/** Who may send this device stage inputs directly, and where they go (the runtime sets it per assignment). */
export interface PeerGrant {
  jobId: string;
  /** The stage this device holds; inputs must be addressed to it. */
  stage: number;
  prev: PeerPrev;
  /** Takes one validated input from the granted peer; throws ProtocolError to refuse it (the sender is told why). */
  accept(input: StageInput, bytes: number): void;
}

/**
 * A Node device's listener for the direct data plane (cli/peer-listener.ts,
 * never in a browser bundle): it checks every peer against the grant the
 * runtime gives it and answers link probes.
 */
export interface PeerInbound {
  /** What device:join advertises. */
  readonly listen: PeerListen;
  /** Replaces the grant; null refuses every data peer (connections of an old grant are closed). */
  grant(grant: PeerGrant | null): void;
}

export interface DeviceRuntimeOptions {
  /** Coordinator URL, e.g. http://127.0.0.1:3000. */
  url: string;
  /** Join token ('' when the coordinator runs without one). */
  token: string;
  name: string;
  kind: 'node' | 'browser';
  /** tfjs backend in use, reported in device:join ('wasm', 'tensorflow', 'webgpu', ...). */
  backend: string;
  /** Memory this device may use for training, bytes. */
  memoryBytes: number;
  /** GFLOP/s benchmark, run once before the first join; default measureDeviceSpeed (matMul on the current backend). */
  measureSpeed?: () => number | Promise<number>;
  userAgent?: string;
  /** A GPU backend's adapter (vendor, architecture, description), reported on join. */
  adapter?: string;
  log?: DeviceLog;
  onStatus?: (status: DeviceStatus) => void;
  /** The stage this device holds (null: none). */
  onStage?: (stage: DeviceStageInfo | null) => void;
  /** Every stage:metrics / stage:eval this device sends. */
  onMetrics?: (metrics: DeviceMetrics) => void;
  onError?: (problem: DeviceProblem) => void;
  /** Where assigned stages compute; default LocalStageHost.build (this thread). Node devices pass a worker thread's (worker-stage-host.ts). */
  stageHost?: StageHostFactory;
  /** Socket factory (tests, bundles); default socket.io-client's io(). */
  connect?: DeviceSocketFactory;
  /** First reconnect delay, ms (default 500); doubles per attempt, with jitter. */
  reconnectDelayMs?: number;
  /** Reconnect delay cap, ms (default 10000). */
  reconnectDelayMaxMs?: number;
  /** The direct data plane's listener (`contsup device --listen`); without one, inputs come through the coordinator only. */
  peer?: PeerInbound;
  /** How long a stage waits for its successor's listener before relaying through the coordinator, ms (default 10000). */
  peerConnectTimeoutMs?: number;
}
