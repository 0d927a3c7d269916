import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { EVENTS, PROTOCOL_VERSION, parser, validateFromServer, type DeviceToServerEvents, type ErrorMessage, type ServerToDeviceEvents } from '../../protocol/index.js';
import { startCoordinator, type CoordinatorHandle, type CoordinatorOptions } from '../../server/main.js';

export type DeviceClient = Socket<ServerToDeviceEvents, DeviceToServerEvents>;

/** Things to undo after each test, newest first. */
export const cleanups: Array<() => Promise<void> | void> = [];

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch {
      // Best effort: a failed cleanup must not hide the test's own result.
    }
  }
}

export interface TestCoordinator extends CoordinatorHandle {
  dataDir: string;
  logs: string[];
}

/** A coordinator on 127.0.0.1, port 0, in a fresh data dir (or `dataDir`), closed after the test. */
export async function startTestCoordinator(opts: Partial<CoordinatorOptions> = {}): Promise<TestCoordinator> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'contsup-server-'));
  if (!opts.dataDir) cleanups.unshift(() => rmSync(dataDir, { recursive: true, force: true }));
  const logs: string[] = [];
  const t0 = Date.now();
  const log = (m: string): void => void logs.push(`+${Date.now() - t0}ms ${m}`);
  const c = await startCoordinator({ port: 0, host: '127.0.0.1', joinToken: 'join-secret', adminToken: 'admin-secret', log, ...opts, dataDir });
  cleanups.push(() => c.close());
  return { ...c, close: () => c.close(), dataDir, logs };
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** One REST call; `token` adds the admin Bearer header. */
export async function api(c: { url: string }, method: 'GET' | 'POST', path: string, opts: { body?: unknown; token?: string } = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
  const res = await fetch(`${c.url}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const type = res.headers.get('content-type') ?? '';
  const body: unknown = type.includes('json') ? await res.json() : new Uint8Array(await res.arrayBuffer());
  return { status: res.status, body };
}

/** A raw device socket with our parser; disconnected after the test. */
export function connect(url: string, options: Record<string, unknown> = {}): DeviceClient {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, parser, ...options }) as DeviceClient;
  cleanups.push(() => void socket.disconnect());
  return socket;
}

/** Resolves with the next `event` on `socket` (any payload), rejects after `ms`. */
export function nextEvent<T = unknown>(target: object, event: string, ms = 10_000): Promise<T> {
  // Typed sockets only accept their own event names; tests listen to any.
  const socket = target as { once(event: string, fn: (msg: T) => void): unknown; off(event: string, fn: (msg: T) => void): unknown };
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const handler = (msg: T): void => {
      clearTimeout(timer);
      resolve(msg);
    };
    socket.once(event, handler);
  });
}

export interface JoinOptions {
  token?: string;
  name?: string;
  memoryBytes?: number;
  speedGflops?: number;
  protocolVersion?: number;
  /** Answer probes and send heartbeats (default true). */
  alive?: boolean;
}

export interface JoinedDevice {
  socket: DeviceClient;
  deviceId: string;
  /** Every `error` the coordinator sent this device. */
  errors: ErrorMessage[];
}

/** Connects, joins and keeps the device alive (probe answers, heartbeats). */
export async function joinDevice(url: string, opts: JoinOptions = {}): Promise<JoinedDevice> {
  const socket = connect(url);
  const errors: ErrorMessage[] = [];
  socket.on(EVENTS.error, (e) => errors.push(e));
  // Probes follow the welcome at once: answer them from the start.
  if (opts.alive !== false) socket.on(EVENTS.netProbe, (p) => socket.emit(EVENTS.netProbeAck, { probeId: p.probeId, receivedBytes: p.payload.byteLength }));
  await nextEvent(socket, 'connect');
  const welcome = nextEvent<{ deviceId: string; heartbeatMs: number }>(socket, EVENTS.deviceWelcome);
  socket.emit(EVENTS.deviceJoin, {
    protocolVersion: opts.protocolVersion ?? PROTOCOL_VERSION,
    token: opts.token ?? 'join-secret',
    name: opts.name ?? 'test-device',
    kind: 'node',
    backend: 'cpu',
    memoryBytes: opts.memoryBytes ?? 4 * 2 ** 30,
    speedGflops: opts.speedGflops ?? 10,
  });
  const w = await welcome;
  validateFromServer(EVENTS.deviceWelcome, w);
  if (opts.alive !== false) {
    const beat = setInterval(() => socket.emit(EVENTS.deviceHeartbeat, { sentAt: Date.now() }), w.heartbeatMs);
    cleanups.push(() => clearInterval(beat));
    socket.on('disconnect', () => clearInterval(beat));
  }
  return { socket, deviceId: w.deviceId, errors };
}

/** Polls `fn` until it returns a truthy value. */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string, ms = 30_000, every = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export interface JobJson {
  id: string;
  status: string;
  error: string | null;
  waitingFor: string | null;
  plan: Array<{ stage: number; deviceId: string; firstModule: number; lastModule: number; estimatedMsPerBatch: number; measuredMsPerBatch: number | null }>;
  stages: Array<{ stage: number; samples: number; bytesIn: number; bytesOut: number; inFlight: number; queued: number; lastCheckpointStep: number | null }>;
  epochs: Array<{ epoch: number; testError: number | null; moduleErrors: Array<number | null> }>;
  progress: { stepsDone: number; totalSteps: number } | null;
}

export async function getJob(c: { url: string }, id: string): Promise<JobJson> {
  const res = await api(c, 'GET', `/api/jobs/${id}`);
  if (res.status !== 200) throw new Error(`GET job ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as JobJson;
}

/** Waits until the job's status is one of `statuses`. */
export function waitForStatus(c: { url: string }, id: string, statuses: string[], ms = 45_000): Promise<JobJson> {
  return waitFor(async () => {
    const job = await getJob(c, id);
    if (statuses.includes(job.status)) return job;
    if (job.status === 'failed' && !statuses.includes('failed')) throw new Error(`job failed: ${job.error}`);
    return undefined;
  }, `job ${id} to be ${statuses.join('/')}`, ms, 100);
}

/** A small synthetic job; K=2 on resnet20 unless overridden. */
export function smallJob(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'resnet20', modules: 2, dataset: 'synthetic', limitTrain: 64, limitTest: 32, batchSize: 16, epochs: 1, minDevices: 2, ...overrides };
}
