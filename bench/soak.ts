/**
 * Soak run (not a test, docs/benchmarks.md): a coordinator process and a
 * pool of `contsup device` processes (wasm) train a stream of small jobs
 * while devices are killed (SIGKILL), leave (SIGTERM) and join at random, and
 * a stream of malformed traffic hits the coordinator (garbage frames,
 * sockets that never join, bad tokens, events before joining). Every few
 * seconds it samples the coordinator's RSS and event-loop lag (GET /metrics,
 * prom-client) and the latency of GET /api/health. At the end it checks every
 * job's step history (SQLite): steps lost (a module never trained a step the
 * job counts as done) and steps double-counted (a module trained a step more
 * than once). Writes bench/results/soak.json.
 *
 *   npm run build && node dist/bench/soak.js [--minutes 60] [--devices 3] [--fault-every-s 20] [--malformed-per-s 10] [--seed 1]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { io, type Socket } from 'socket.io-client';
import { Encoder, parser, PacketType, type SocketIoPacket } from '../protocol/parser.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'cli', 'cli.js');
const RESULTS = join(here, '..', '..', 'bench', 'results');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const config = {
  minutes: Number(arg('minutes', '10')),
  devices: Number(arg('devices', '3')),
  faultEveryS: Number(arg('fault-every-s', '20')),
  malformedPerS: Number(arg('malformed-per-s', '10')),
  sampleEveryS: Number(arg('sample-every-s', '5')),
  seed: Number(arg('seed', '1')),
};
const JOB = { model: 'resnet20', modules: 2, context: 'E', dataset: 'synthetic', epochs: 5, batchSize: 16, limitTrain: 96, limitTest: 32, checkpointEvery: 2, minDevices: 2 };
const JOIN = 'soak-join';
const ADMIN = 'soak-admin';

// Deterministic choices (mulberry32), so two runs with one seed fault alike.
let rngState = config.seed >>> 0;
function random(): number {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- children: always killed, whatever way this process ends ----
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

function spawnCli(args: string[]): { proc: ChildProcess; output: () => string } {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  let out = '';
  const take = (b: Buffer): void => {
    out = (out + b.toString('utf8')).slice(-32 * 1024);
  };
  proc.stdout!.on('data', take);
  proc.stderr!.on('data', take);
  return { proc, output: () => out };
}

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// ---- coordinator ----
const dataDir = mkdtempSync(join(tmpdir(), 'contsup-soak-'));
const coordinator = spawnCli(['coordinator', '--port', '0', '--host', '127.0.0.1', '--join-token', JOIN, '--admin-token', ADMIN, '--data-dir', dataDir]);
const url = await waitFor(() => /contsup coordinator on (http:\/\/[^\s]+)/.exec(coordinator.output())?.[1], 'the coordinator banner', 30_000);

async function rest(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text.startsWith('{') || text.startsWith('[') ? (JSON.parse(text) as unknown) : text };
}

// ---- devices ----
interface Device {
  name: string;
  proc: ChildProcess;
}
const devices: Device[] = [];
let deviceCount = 0;
function addDevice(): void {
  const name = `soak-${++deviceCount}`;
  const { proc } = spawnCli(['device', '--url', url, '--token', JOIN, '--name', name, '--backend', 'wasm', '--threads', '1']);
  const d = { name, proc };
  devices.push(d);
  proc.once('exit', () => devices.splice(devices.indexOf(d), 1));
}
for (let i = 0; i < config.devices; i++) addDevice();

const faults = { killed: 0, killedBusy: 0, left: 0, joined: 0 };
async function busyNames(): Promise<Set<string>> {
  const list = (await rest('GET', '/api/devices')).json as Array<{ name: string; status: string }>;
  return new Set(list.filter((d) => d.status === 'busy').map((d) => d.name));
}

/** One random fault: kill -9 (mostly a busy device), a device leaving, or one more joining. */
async function fault(): Promise<void> {
  const r = random();
  if (r < 0.2 && devices.length < config.devices + 1) {
    faults.joined++;
    addDevice();
    return;
  }
  if (devices.length <= 1) {
    addDevice();
    return;
  }
  const busy = await busyNames();
  const candidates = random() < 0.75 ? devices.filter((d) => busy.has(d.name)) : devices;
  const victim = pick(candidates.length > 0 ? candidates : devices);
  if (r < 0.75) {
    faults.killed++;
    if (busy.has(victim.name)) faults.killedBusy++;
    victim.proc.kill('SIGKILL');
  } else {
    faults.left++;
    victim.proc.kill('SIGTERM');
  }
  // The pool comes back to size after a while (a device restarting elsewhere).
  setTimeout(() => {
    if (!stopping && devices.length < config.devices) addDevice();
  }, 1000 + random() * 5000).unref();
}

// ---- malformed traffic ----
const malformed = { connections: 0, garbageFrames: 0, neverJoined: 0, badTokens: 0, eventsBeforeJoin: 0 };
/** Encodes the namespace CONNECT as it should be, every event as random bytes. */
class GarbageEncoder extends Encoder {
  override encode(packet: SocketIoPacket): Uint8Array[] {
    if (packet.type !== PacketType.EVENT) return super.encode(packet);
    const n = 1 + Math.floor(random() * 4096);
    return [Uint8Array.from({ length: n }, () => Math.floor(random() * 256))];
  }
}
const garbageParser = { Encoder: GarbageEncoder, Decoder: parser.Decoder };
const open = new Set<Socket>();
function shoot(): void {
  const kind = pick(['garbage', 'never-join', 'bad-token', 'before-join'] as const);
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, parser: kind === 'garbage' ? garbageParser : parser });
  malformed.connections++;
  open.add(socket);
  const drop = (): void => {
    open.delete(socket);
    socket.disconnect();
  };
  socket.on('disconnect', drop);
  socket.on('connect_error', drop);
  // Whatever happens, gone after 10 s (the coordinator closes never-joining sockets after its 5 s window).
  setTimeout(drop, 10_000).unref();
  socket.on('connect', () => {
    if (kind === 'garbage') {
      malformed.garbageFrames++;
      socket.emit('device:join', {});
    } else if (kind === 'never-join') malformed.neverJoined++;
    else if (kind === 'bad-token') {
      malformed.badTokens++;
      socket.emit('device:join', { protocolVersion: PROTOCOL_VERSION, token: 'wrong', name: 'x', kind: 'node', backend: 'cpu', memoryBytes: 1, speedGflops: 1 });
    } else {
      malformed.eventsBeforeJoin++;
      socket.emit(pick(['device:heartbeat', 'stage:output', 'stage:checkpoint', 'no:such']), { jobId: 'x'.repeat(Math.floor(random() * 100)), stage: -1, junk: [1, 'a', null] });
    }
  });
}

// ---- jobs ----
const jobs: string[] = [];
async function newJob(): Promise<void> {
  const res = await rest('POST', '/api/jobs', { ...JOB, seed: jobs.length + 1 });
  if (res.status !== 201) throw new Error(`POST /api/jobs: ${res.status} ${JSON.stringify(res.json)}`);
  jobs.push((res.json as { id: string }).id);
}

// ---- samples ----
interface Sample {
  t: number;
  rssMiB: number;
  heapMiB: number;
  lagMs: number;
  lagP99Ms: number;
  lagMaxMs: number;
  healthMs: number;
  devices: number;
  openMalformed: number;
  jobStatus: string;
  stepsDone: number;
}
const samples: Sample[] = [];
function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}
const t0 = Date.now();
async function sample(): Promise<void> {
  const h0 = performance.now();
  const health = await fetch(`${url}/api/health`);
  await health.text();
  const healthMs = performance.now() - h0;
  const text = await (await fetch(`${url}/metrics`)).text();
  const job = jobs.length > 0 ? ((await rest('GET', `/api/jobs/${jobs.at(-1)}`)).json as { status: string; progress: { stepsDone: number } | null }) : null;
  samples.push({
    t: Math.round((Date.now() - t0) / 1000),
    rssMiB: metric(text, 'process_resident_memory_bytes') / 2 ** 20,
    heapMiB: metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    lagMs: metric(text, 'nodejs_eventloop_lag_seconds') * 1000,
    lagP99Ms: metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
    lagMaxMs: metric(text, 'nodejs_eventloop_lag_max_seconds') * 1000,
    healthMs,
    devices: devices.length,
    openMalformed: open.size,
    jobStatus: job?.status ?? '-',
    stepsDone: job?.progress?.stepsDone ?? 0,
  });
  const s = samples.at(-1)!;
  process.stderr.write(`t=${s.t}s rss=${s.rssMiB.toFixed(0)}MiB lag=${s.lagMs.toFixed(1)}ms p99=${s.lagP99Ms.toFixed(1)}ms health=${s.healthMs.toFixed(0)}ms devices=${s.devices} job ${jobs.length}: ${s.jobStatus} ${s.stepsDone} steps; faults ${JSON.stringify(faults)}\n`);
}

// ---- the run ----
let stopping = false;
const endAt = t0 + config.minutes * 60_000;
await newJob();
const shots = setInterval(() => {
  if (!stopping) shoot();
}, Math.max(1, Math.round(1000 / config.malformedPerS)));
let nextFault = Date.now() + 10_000 + random() * 2 * config.faultEveryS * 1000;
let nextSample = Date.now();
while (Date.now() < endAt) {
  if (Date.now() >= nextSample) {
    await sample();
    nextSample += config.sampleEveryS * 1000;
  }
  if (Date.now() >= nextFault) {
    await fault();
    nextFault = Date.now() + random() * 2 * config.faultEveryS * 1000;
  }
  const last = (await rest('GET', `/api/jobs/${jobs.at(-1)}`)).json as { status: string; error: string | null };
  if (last.status === 'failed') throw new Error(`job ${jobs.at(-1)} failed: ${last.error}\n${coordinator.output().slice(-4000)}`);
  if (last.status === 'done') await newJob();
  await sleep(250);
}
stopping = true;
clearInterval(shots);
await sample();
const unfinished = jobs.at(-1)!;
await rest('POST', `/api/jobs/${unfinished}/stop`, {});

// ---- the step history ----
interface JobCheck {
  id: string;
  status: string;
  stepsDone: number;
  totalSteps: number;
  faults: number;
  rollbacks: number;
  stepsLost: number;
  stepsDoubleCounted: number;
}
const db = new Database(join(dataDir, 'contsup.db'), { readonly: true });
const checks: JobCheck[] = [];
for (const id of jobs) {
  const j = (await rest('GET', `/api/jobs/${id}`)).json as { status: string; progress: { stepsDone: number; totalSteps: number } | null; events: Array<{ code: string }> };
  const stepsDone = j.progress?.stepsDone ?? 0;
  const rows = db.prepare('SELECT module, step, COUNT(*) AS n FROM step_history WHERE job_id = ? GROUP BY module, step').all(id) as Array<{ module: number; step: number; n: number }>;
  const count = new Map(rows.map((r) => [`${r.module}:${r.step}`, r.n]));
  let lost = 0;
  for (let m = 0; m < JOB.modules; m++) for (let s = 0; s < stepsDone; s++) if (!count.has(`${m}:${s}`)) lost++;
  checks.push({
    id,
    status: j.status,
    stepsDone,
    totalSteps: j.progress?.totalSteps ?? 0,
    faults: j.events.filter((e) => e.code === 'stage-lost').length,
    rollbacks: j.events.filter((e) => e.code === 'rolled-back').length,
    stepsLost: lost,
    stepsDoubleCounted: rows.reduce((n, r) => n + Math.max(0, r.n - 1), 0),
  });
}
db.close();

const coordinatorAlive = coordinator.proc.exitCode === null && coordinator.proc.signalCode === null;
const half = samples.filter((s) => s.t <= samples.at(-1)!.t / 2);
const summary = {
  ranMinutes: (Date.now() - t0) / 60_000,
  coordinatorAlive,
  jobsDone: checks.filter((c) => c.status === 'done').length,
  jobs: checks.length,
  stageFaultsSurvived: checks.reduce((n, c) => n + c.faults, 0),
  rollbacks: checks.reduce((n, c) => n + c.rollbacks, 0),
  stepsLost: checks.reduce((n, c) => n + c.stepsLost, 0),
  stepsDoubleCounted: checks.reduce((n, c) => n + c.stepsDoubleCounted, 0),
  rssMiB: { first: samples[0]!.rssMiB, max: Math.max(...samples.map((s) => s.rssMiB)), firstHalfMax: Math.max(...half.map((s) => s.rssMiB)), last: samples.at(-1)!.rssMiB },
  lagMs: { meanOfSamples: samples.reduce((n, s) => n + s.lagMs, 0) / samples.length, maxP99: Math.max(...samples.map((s) => s.lagP99Ms)), max: Math.max(...samples.map((s) => s.lagMaxMs)) },
  healthMsMax: Math.max(...samples.map((s) => s.healthMs)),
};
const result = { bench: 'soak', at: new Date().toISOString(), machine: { cpus: cpus().length, loadavg: loadavg() }, config, job: JOB, faults, malformed, summary, checks, samples };
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, 'soak.json'), `${JSON.stringify(result, null, 1)}\n`);
process.stdout.write(`${JSON.stringify({ faults, malformed, summary }, null, 1)}\n`);
for (const s of open) s.disconnect();
for (const c of children) c.kill('SIGKILL');
rmSync(dataDir, { recursive: true, force: true });
process.exit(coordinatorAlive && summary.stepsLost === 0 && summary.stepsDoubleCounted === 0 ? 0 : 1);
