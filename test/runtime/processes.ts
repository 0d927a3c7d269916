import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { api, cleanups, waitFor, type JobJson } from '../server/helpers.js';

/**
 * Real processes for the runtime tests: `contsup device` / `contsup
 * coordinator` children of the built CLI (dist/, fresh after `npm run build`,
 * which `pretest` runs), plus read-only views of the coordinator's SQLite.
 * Every child is stopped by the shared `cleanups` (runCleanups after each
 * test) and, should the test process die first, SIGKILLed on exit.
 */

export const CLI = fileURLToPath(new URL('../../dist/cli/cli.js', import.meta.url));

const LOCK = join(tmpdir(), 'contsup-runtime-tests.lock');
const live = new Set<ChildProcess>();
let lockHeld = false;
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
  if (lockHeld) rmSync(LOCK, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: unknown) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes a machine-wide lock (a directory in tmpdir) for the rest of the test,
 * so the test files that train in several device processes run one at a
 * time: two of them side by side on a 2-core runner slow every step 2-3x.
 * A lock left by a dead process is broken; after `maxWaitMs` the test goes
 * on without it. Released by the shared cleanups, after the children stop
 * (take it before spawning anything).
 */
export async function exclusiveMachine(maxWaitMs = 150_000): Promise<void> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      lockHeld = true;
      cleanups.push(() => {
        lockHeld = false;
        rmSync(LOCK, { recursive: true, force: true });
      });
      return;
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
    } catch {
      // Just created by its owner, pid not written yet.
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(LOCK, { recursive: true, force: true });
    if (Date.now() > deadline) {
      process.stderr.write(`runtime tests: ${LOCK} still held by pid ${owner} after ${maxWaitMs} ms; going on without it\n`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface Child {
  name: string;
  proc: ChildProcess;
  /** stdout + stderr so far (the last 64 KiB). */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

const KEEP_OUTPUT = 64 * 1024;

export interface SpawnOptions {
  /** Node options before the script, e.g. `--import <preload>`. */
  nodeArgs?: string[];
  /** Added to the child's environment. */
  env?: Record<string, string>;
  /** Runs node under this command, e.g. `ip netns exec NS` (which execs node: the PID stays node's). */
  prefix?: string[];
}

/** Spawns `node [nodeArgs] dist/cli/cli.js ...args`; stopped after the test. */
export function spawnCli(name: string, args: string[], opts: SpawnOptions = {}): Child {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before these tests`);
  const env = { ...process.env, NO_COLOR: '1', ...opts.env };
  const argv = [process.execPath, ...(opts.nodeArgs ?? []), CLI, ...args];
  const [cmd, ...rest] = [...(opts.prefix ?? []), ...argv];
  const proc = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'], env });
  live.add(proc);
  let out = '';
  const take = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    if (out.length > KEEP_OUTPUT) out = out.slice(-KEEP_OUTPUT);
  };
  proc.stdout!.on('data', take);
  proc.stderr!.on('data', take);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    });
  });
  const child: Child = {
    name,
    proc,
    output: () => out,
    exited,
    async stop(graceMs = 5000): Promise<void> {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  cleanups.push(() => child.stop());
  return child;
}

/** `contsup device --url <url> --token <token> --name <name> --backend wasm`. */
/** `extra`: more `contsup device` options, e.g. ['--slow-step-ms', '1500']. */
export function spawnDevice(url: string, token: string, name: string, extra: string[] = []): Child {
  return spawnCli(name, ['device', '--url', url, '--token', token, '--name', name, '--backend', 'wasm', ...extra]);
}

export interface CliCoordinator {
  url: string;
  child: Child;
}

/** `contsup coordinator --port 0 --host 127.0.0.1 ...`; the URL is read from its banner. */
export async function spawnCoordinator(opts: { dataDir: string; joinToken: string; adminToken: string; args?: string[] } & SpawnOptions): Promise<CliCoordinator> {
  const child = spawnCli('coordinator', [
    'coordinator',
    '--port', '0',
    '--host', '127.0.0.1',
    '--join-token', opts.joinToken,
    '--admin-token', opts.adminToken,
    '--data-dir', opts.dataDir,
    ...(opts.args ?? []),
  ], opts);
  let exited = false;
  void child.exited.then(() => (exited = true));
  const url = await waitFor(
    () => {
      if (exited) throw new Error(`the coordinator exited before printing its URL:\n${child.output()}`);
      return /contsup coordinator on (http:\/\/[^\s]+)/.exec(child.output())?.[1];
    },
    'the coordinator banner',
    30_000,
    50,
  );
  return { url, child };
}

export interface DeviceJson {
  id: string;
  name: string;
  status: string;
  jobId: string | null;
  stage: number | null;
  speedGflops: number;
  /** Coordinator clock, ms: the device's last message. */
  lastSeen: number;
}

export async function listDevices(c: { url: string }): Promise<DeviceJson[]> {
  return (await api(c, 'GET', '/api/devices')).body as DeviceJson[];
}

/** Waits until the named devices are joined and idle (probes done); returns them by name. */
export async function waitForIdle(c: { url: string }, names: string[], ms = 60_000): Promise<Map<string, DeviceJson>> {
  return waitFor(
    async () => {
      const idle = (await listDevices(c)).filter((d) => d.status === 'idle' && names.includes(d.name));
      return idle.length === names.length ? new Map(idle.map((d) => [d.name, d])) : undefined;
    },
    `devices ${names.join(', ')} to be idle`,
    ms,
    100,
  );
}

/** What GET /api/jobs/:id shows beyond test/server's JobJson. */
export type JobDetailJson = JobJson & {
  plan: Array<JobJson['plan'][number] & { deviceName: string }>;
  stages: Array<JobJson['stages'][number] & { samplesPerSec: number; deviceId: string; firstModule: number; lastModule: number; ready: boolean; lost: boolean }>;
  progress: { epoch: number; phase: string; batchesPerEpoch: number; evalBatches: number; totalSteps: number; stepsDone: number } | null;
};

/** POST /api/jobs with the admin token; returns the new job's id. */
export async function createJob(c: { url: string }, adminToken: string, body: Record<string, unknown>): Promise<string> {
  const res = await api(c, 'POST', '/api/jobs', { token: adminToken, body });
  if (res.status !== 201) throw new Error(`POST /api/jobs: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { id: string }).id;
}

export interface StoredStep {
  rowid: number;
  stage: number;
  module: number;
  step: number;
  loss: number | null;
  correct: number | null;
  count: number;
}

export interface StoredCheckpoint {
  stage: number;
  step: number;
  epoch: number;
  path: string;
  bytes: number;
}

/** Read-only access to `<dataDir>/contsup.db` (server/storage/metrics.store.ts), opened per call. */
function withDb<T>(dataDir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, 'contsup.db'), { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export function storedSteps(dataDir: string, jobId: string): StoredStep[] {
  return withDb(dataDir, (db) =>
    db.prepare('SELECT rowid, stage, module, step, loss, correct, count FROM steps WHERE job_id = ? ORDER BY rowid').all(jobId) as StoredStep[],
  );
}

export function storedCheckpoints(dataDir: string, jobId: string): StoredCheckpoint[] {
  return withDb(dataDir, (db) =>
    db.prepare('SELECT stage, step, epoch, path, bytes FROM checkpoints WHERE job_id = ? ORDER BY stage, step').all(jobId) as StoredCheckpoint[],
  );
}

/** Tail of every child's output, for a failing test's report. */
export function dumpOutputs(children: Child[], tail = 4000): string {
  return children.map((c) => `--- ${c.name} (pid ${c.proc.pid}) ---\n${c.output().slice(-tail)}`).join('\n');
}
