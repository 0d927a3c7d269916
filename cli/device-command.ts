import { hostname, totalmem, platform, arch } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { NODE_BACKEND_NAMES, type NodeBackendName } from '../engine/backend/backend-names.js';
import { DEVICE_DEFAULTS } from '../protocol/defaults.js';
import { int } from './options.js';
import type { DeviceLogLevel, DeviceMetrics, DeviceStatus } from '../client/device-types.js';
import { parseThreads, threadsLine, threadsPerDevice } from './threads.js';

export interface DeviceCommandOptions {
  url: string;
  token: string;
  name?: string;
  backend?: NodeBackendName;
  memoryMb?: number;
  /** CPU threads for the backend (default: all cores). */
  threads?: number;
  /** host:port to take stage inputs from other devices on (the direct plane). */
  listen?: string;
  /** host:port other devices dial to reach the listener (behind NAT); default the bound address. */
  advertise?: string;
  /** Test/bench aid (hidden option): each step sleeps this many ms per module held, in the stage worker. */
  slowStepMs?: number;
  /** Test/bench aid (hidden option): report this speed on join instead of measuring it. */
  speedGflops?: number;
}

/** "host:port" with a port 0..65535 (0: any free port); IPv6 hosts in brackets. */
export function hostPort(flag: string): (v: string) => string {
  return (v) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
    if (!m || Number(m[2]) > 65535) throw new InvalidArgumentError(`${flag} must be HOST:PORT such as 127.0.0.1:4100 (port 0: any free port), got "${v}"`);
    return v;
  };
}

function splitHostPort(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(v.slice(i + 1)) };
}

function url(v: string): string {
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new InvalidArgumentError(`--url must be an http(s) URL such as http://127.0.0.1:3000, got "${v}"`);
  }
  return v;
}

function positiveNumber(v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new InvalidArgumentError(`expected a positive number, got "${v}"`);
  return x;
}

function stamp(): string {
  return new Date().toISOString().slice(11, 19);
}

function printMetrics(m: DeviceMetrics): string {
  if (m.kind === 'train') {
    const { metrics } = m;
    const losses = metrics.modules.map((s) => `m${s.module} ${s.loss.toFixed(3)}`).join(' ');
    return `epoch ${metrics.epoch} step ${metrics.step}: loss ${losses} | ${metrics.samplesPerSec.toFixed(1)} samples/s`;
  }
  const acc = m.eval.modules.map((s) => `m${s.module} ${s.correct === null ? '-' : `${s.correct}/${s.count}`}`).join(' ');
  return `epoch ${m.eval.epoch} eval batch ${m.eval.batchId}: correct ${acc}`;
}

/**
 * `contsup device`: joins a coordinator and runs whatever stage it assigns
 * until SIGINT/SIGTERM. Resolves after a clean shutdown.
 */
export async function runDevice(opts: DeviceCommandOptions, signal?: AbortSignal): Promise<void> {
  const write = (level: DeviceLogLevel, msg: string): void => void process.stderr.write(`${stamp()} ${level === 'info' ? '' : `${level}: `}${msg}\n`);
  // tfjs is loaded on use: the CLI registers this command in every process, the coordinator's too.
  const { DeviceRuntime } = await import('../client/device-runtime.js');
  const { startDeviceCompute } = await import('./device-compute.js');
  const threads = opts.threads ?? threadsPerDevice(1);
  let finish: (err?: Error) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    finish = (err) => (err ? reject(err) : resolve());
  });
  // The stage (backend, model, steps, checkpoints) runs in a worker thread, so this thread
  // answers heartbeats and probes and decodes the next input during a step.
  const compute = await startDeviceCompute(
    { ...(opts.backend === undefined ? {} : { backend: opts.backend }), threads, slowStepMs: opts.slowStepMs ?? 0 },
    (msg) => write('info', msg),
    (err) => finish(err),
  );
  const { backend, detail, adapter } = compute;
  write('info', `backend: ${detail}; ${threadsLine(threads, compute.threadsInUse)}; stages compute on ${compute.where}`);
  if ((opts.slowStepMs ?? 0) > 0) write('warn', `--slow-step-ms ${opts.slowStepMs}: each step sleeps ${opts.slowStepMs} ms per module held (a test/bench aid)`);
  // Node-only: the browser bundle never reaches this import.
  const peer = opts.listen === undefined ? undefined : await (await import('./peer-listener.js')).PeerListener.start({ ...splitHostPort(opts.listen), ...(opts.advertise === undefined ? {} : { advertise: opts.advertise }), log: (m) => write('warn', m) });
  if (peer) write('info', `peer listener on port ${peer.port}, advertised as ${peer.listen.address}`);

  const runtime = new DeviceRuntime({
    url: opts.url,
    token: opts.token,
    name: (opts.name ?? `${hostname()}-${process.pid}`).slice(0, 128),
    kind: 'node',
    backend,
    memoryBytes: opts.memoryMb !== undefined ? opts.memoryMb * 2 ** 20 : totalmem(),
    userAgent: `contsup device; node ${process.version}; ${platform()} ${arch()}; ${detail}`,
    ...(adapter !== null ? { adapter } : {}),
    measureSpeed: () => opts.speedGflops ?? compute.measureSpeed(),
    ...(compute.stageHost ? { stageHost: compute.stageHost } : {}),
    log: write,
    onStatus: (s: DeviceStatus) => {
      write('info', `status: ${s.state}${s.detail ? ` (${s.detail})` : ''}`);
      // A refused join (bad token, protocol version) never succeeds on retry: end instead of idling.
      if (s.state === 'rejected') finish(new Error(`the coordinator refused this device: ${s.detail ?? 'no reason given'}`));
    },
    onMetrics: (m) => write('info', printMetrics(m)),
    ...(peer ? { peer } : {}),
  });

  let stopping = false;
  const shutdown = (why: string): void => {
    if (stopping) {
      // A second Ctrl-C means "now": do not wait for a long step to finish.
      write('warn', `${why} again: exiting without waiting`);
      process.exit(130);
    }
    stopping = true;
    write('info', `${why}: leaving the coordinator`);
    finish();
  };
  const onSigint = (): void => shutdown('SIGINT');
  const onSigterm = (): void => shutdown('SIGTERM');
  const onAbort = (): void => shutdown('aborted');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await runtime.start();
    await finished;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    signal?.removeEventListener('abort', onAbort);
    await runtime.stop();
    await peer?.close();
    await compute.close();
  }
}

export function deviceCommand(program: Command): void {
  program
    .command('device')
    .description('join a coordinator as a compute device and run the stages it assigns (until Ctrl-C)')
    .option('--url <url>', 'coordinator URL', url, DEVICE_DEFAULTS.url)
    .option('--token <secret>', 'join token the coordinator was started with (default $CONTSUP_TOKEN, else none)', process.env.CONTSUP_TOKEN ?? '')
    .option('--name <name>', 'device name shown on the dashboard (default <hostname>-<pid>)')
    .addOption(new Option('--backend <name>', 'tfjs backend (default: best available)').choices(NODE_BACKEND_NAMES))
    .option('--memory-mb <n>', 'memory this device may use for training, MiB (default: all of the machine)', int('--memory-mb', 1))
    .option('--threads <n>', 'CPU threads for the backend (default: all cores)', parseThreads)
    .option('--listen <host:port>', 'take stage inputs straight from the previous stage\'s device on this address (port 0: any free port)', hostPort('--listen'))
    .option('--advertise <host:port>', 'address other devices dial to reach --listen (a host behind NAT); default the bound address', hostPort('--advertise'))
    // Not for users: makes this device slow on purpose, e.g. to test heartbeats during long steps or re-planning.
    .addOption(new Option('--slow-step-ms <n>', 'test/bench aid: sleep n ms per module held in every step').argParser(int('--slow-step-ms', 0)).hideHelp())
    // Not for users: a fixed join-time speed, e.g. to make the planner misjudge a device on purpose.
    .addOption(new Option('--speed-gflops <x>', 'test/bench aid: report this speed instead of measuring it').argParser(positiveNumber).hideHelp())
    .action(async (opts: DeviceCommandOptions) => {
      await runDevice(opts);
    });
}
