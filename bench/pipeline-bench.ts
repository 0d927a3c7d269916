/**
 * Pipeline benchmark (docs/benchmarks.md, "Pipeline"). Two parts:
 *
 * 1. Speedup: training throughput of the in-process trainer vs a coordinator
 *    and N `contsup device` processes (N = each of --devices, default 2 and 3)
 *    on the same job (default ResNet-32, K=4, E, synthetic, batch 32, 512
 *    training samples, wasm). Both sides are timed the same way, over the
 *    training phase only: samples between the first and the last training
 *    step's completion, divided by the time between them (the first step,
 *    with its warm-up, is excluded; start-up and evaluation are outside the
 *    window). In process, a step completes when the trainer reports it; in
 *    the pipeline, when the last stage acknowledges it (progress.stepsDone,
 *    polled every 100 ms: each poll builds the job view in the coordinator,
 *    which shares the cores with the devices). Each pipeline run also records its stages'
 *    measured times per batch; the ideal speedup they allow is
 *    sum(stage times) / slowest stage, and the bench reports the measured
 *    speedup's ratio to it.
 *    Beside them, the machine's own limit: N in-process trainers at once (N
 *    child processes of this script, `--child-in-process`), their combined
 *    samples/s over the span from the first one's first step to the last
 *    one's last, against one alone. On a machine with fewer free cores than
 *    devices (or shared caches and memory bandwidth), that, not the stage
 *    times, bounds what N devices can reach.
 * 2. Relay capacity: MB/s one coordinator relays between two stage fakes
 *    (bench/stage-fakes.ts: clients that only send and receive frames, in a
 *    child process) and the coordinator's CPU seconds per relayed MB.
 *
 * `--plane relay|direct|relay,direct` picks the data plane(s) of part 1 (see
 * devicePlaneArgs). Rounds alternate the runs (in process, then each device
 * count on each plane), so a load change on the machine hits every side alike. Writes bench/results/pipeline-bench.json and prints markdown.
 *
 *   npm run build && node dist/bench/pipeline-bench.js [--devices 2,3] [--rounds 1] [--plane relay,direct] [--parts speedup,relay]
 *     [--model resnet32] [--modules 4] [--train 512] [--batch 32]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../engine/backend/select-backend.js';
import { GllNetwork } from '../engine/model/network.js';
import { getDataset, modelConfigFor, type TrainCommandOptions } from '../cli/train-command.js';
import { InProcessTrainer } from '../engine/train/gll-trainer.js';
import type { ModelName } from '../protocol/index.js';
import { startCoordinator, type CoordinatorHandle } from '../server/main.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'cli', 'cli.js');
const FAKES = join(here, 'stage-fakes.js');
const RESULTS = join(here, '..', '..', 'bench', 'results');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const config = {
  model: arg('model', 'resnet32') as ModelName,
  modules: Number(arg('modules', '4')),
  context: arg('context', 'E'),
  train: Number(arg('train', '512')),
  test: Number(arg('test', '32')),
  batchSize: Number(arg('batch', '32')),
  devices: arg('devices', '2,3').split(',').map(Number),
  rounds: Number(arg('rounds', '1')),
  /** Data planes of part 1, alternated inside each round. */
  planes: arg('plane', 'relay').split(',') as Array<'relay' | 'direct'>,
  parts: arg('parts', 'speedup,relay').split(','),
  seed: 1,
  lr: 0.1,
};

// ---- children: always killed, whatever way this process ends ----
const children = new Set<ChildProcess>();
function killChildren(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
}
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killChildren();
    process.exit(130);
  });
}
// A stuck run must not keep device processes busy for ever.
const watchdog = setTimeout(() => {
  process.stderr.write('pipeline-bench: no result after 60 minutes, giving up\n');
  killChildren();
  process.exit(2);
}, 60 * 60_000);
watchdog.unref();

for (const plane of config.planes) if (plane !== 'relay' && plane !== 'direct') throw new Error(`--plane must be relay, direct or relay,direct, got ${String(plane)}`);

/**
 * The switch point between the data planes: extra `contsup device` options.
 * relay: none (every tensor goes through the coordinator). direct: the device
 * listens for its predecessor's outputs on a port of its own (`--listen`), so
 * every cut between two Node devices is direct.
 */
function devicePlaneArgs(plane: 'relay' | 'direct'): string[] {
  return plane === 'direct' ? ['--listen', '127.0.0.1:0'] : [];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface PhaseResult {
  steps: number;
  /** Samples in the timed window (steps 2..n). */
  samples: number;
  windowSec: number;
  samplesPerSec: number;
  /** Including the first step (from the moment training was started / the job was posted). */
  wallSec: number;
}

/** An in-process run with its window's wall-clock ends (ms since the epoch), to combine runs of several processes. */
type InProcessPhase = PhaseResult & { stepMs: number[]; firstAt: number; lastAt: number };

async function inProcess(quiet = false): Promise<InProcessPhase> {
  const opts: TrainCommandOptions = {
    model: config.model,
    modules: config.modules,
    context: config.context,
    loss: 'ce',
    head: '1c2f',
    decoder: false,
    partition: 'equal',
    dataset: 'synthetic',
    epochs: 1,
    batchSize: config.batchSize,
    lr: config.lr,
    limitTrain: config.train,
    limitTest: config.test,
    seed: config.seed,
    json: true,
  };
  const data = await getDataset(opts, () => undefined);
  const net = new GllNetwork(modelConfigFor(opts, data));
  const trainer = new InProcessTrainer(net, { epochs: 1, batchSize: config.batchSize, lr: config.lr, seed: config.seed });
  const marks: Array<{ t: number; at: number; samples: number }> = [];
  const t0 = performance.now();
  await trainer.trainEpoch(data.train, data.preprocess, 1, (r) => {
    marks.push({ t: performance.now(), at: Date.now(), samples: r.samples });
    if (!quiet) process.stderr.write(`  in-process step ${r.step + 1}/${r.totalSteps}\r`);
  });
  if (!quiet) process.stderr.write('\n');
  trainer.dispose();
  net.dispose();
  const first = marks[0]!;
  const last = marks.at(-1)!;
  const windowSec = (last.t - first.t) / 1000;
  const stepMs = marks.map((m, i) => Math.round(m.t - (i === 0 ? t0 : marks[i - 1]!.t)));
  return {
    steps: marks.length,
    samples: last.samples - first.samples,
    windowSec,
    samplesPerSec: (last.samples - first.samples) / windowSec,
    wallSec: (last.t - t0) / 1000,
    stepMs,
    firstAt: first.at,
    lastAt: last.at,
  };
}

interface CapacityRun {
  processes: number;
  /** Samples of every process's window over the span from the earliest window start to the latest end. */
  samplesPerSec: number;
  perProcess: number[];
}

/** `n` in-process trainers at once, each in a child process of this script; combined throughput. */
async function concurrentInProcess(n: number): Promise<CapacityRun> {
  const passOn = process.argv.slice(2).filter((a) => a !== '--child-in-process');
  const runs = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<InProcessPhase>((resolve, reject) => {
        const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...passOn, '--child-in-process'], { stdio: ['ignore', 'pipe', 'pipe'] });
        children.add(child);
        let out = '';
        let err = '';
        child.stdout!.on('data', (b: Buffer) => void (out += b.toString()));
        child.stderr!.on('data', (b: Buffer) => void (err = (err + b.toString()).slice(-4000)));
        child.once('exit', (code) => {
          children.delete(child);
          if (code === 0) resolve(JSON.parse(out) as InProcessPhase);
          else reject(new Error(`in-process child exited with ${code}:\n${err}`));
        });
      }),
    ),
  );
  const span = (Math.max(...runs.map((r) => r.lastAt)) - Math.min(...runs.map((r) => r.firstAt))) / 1000;
  return { processes: n, samplesPerSec: runs.reduce((a, r) => a + r.samples, 0) / span, perProcess: runs.map((r) => Number(r.samplesPerSec.toFixed(2))) };
}

interface JobView {
  status: string;
  error: string | null;
  progress: { totalSteps: number; stepsDone: number; batchesPerEpoch: number } | null;
  plan: Array<{ stage: number; deviceName: string; firstModule: number; lastModule: number; estimatedMsPerBatch: number; measuredMsPerBatch: number | null }>;
  stages: Array<{ stage: number; samples: number; samplesPerSec: number; bytesIn: number; bytesOut: number; measuredMsPerBatch: number | null; meanTrainMsPerBatch: number | null }>;
  /** Tensor bytes the coordinator relayed for this job (0 when every cut is direct). */
  relayedTensorBytes: number;
  cuts: Array<{ mode: string; bytes: number; reason?: string | null }>;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

interface StageTime {
  stage: number;
  device: string;
  modules: string;
  estimatedMs: number;
  /** The coordinator's mean service time per training batch after the first, ms: the stage time of the ideal. */
  measuredMs: number | null;
  /** The same smoothed over the last ~5 batches (the dashboard's figure): lower at the end, when earlier stages are done and free the cores. */
  lastMs: number | null;
  /** Batch / the device's own samples/s: compute only, ms. */
  computeMs: number | null;
}

async function pipeline(
  devicesWanted: number,
  plane: 'relay' | 'direct',
): Promise<PhaseResult & { stageTimes: StageTime[]; idealSpeedup: number | null; stages: unknown; devices: unknown; relayedTensorBytes: number; cuts: JobView['cuts'] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'contsup-bench-'));
  let coordinator: CoordinatorHandle | null = null;
  try {
    coordinator = await startCoordinator({ port: 0, host: '127.0.0.1', dataDir, joinToken: 'bench-join', adminToken: 'bench-admin', log: () => undefined });
    const url = coordinator.url;
    const names = Array.from({ length: devicesWanted }, (_, i) => `bench-d${i + 1}`);
    for (const name of names) {
      const child = spawn(process.execPath, [CLI, 'device', '--url', url, '--token', 'bench-join', '--name', name, '--backend', 'wasm', ...devicePlaneArgs(plane)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let tail = '';
      child.stderr!.on('data', (b: Buffer) => void (tail = (tail + b.toString()).slice(-4000)));
      child.once('exit', (code, signal) => {
        if (children.delete(child)) process.stderr.write(`pipeline-bench: device ${name} exited early (${code ?? signal}):\n${tail}\n`);
      });
      children.add(child);
    }
    type Device = { id: string; name: string; status: string; speedGflops: number; bandwidthBytesPerSec: number | null; rttMs: number | null };
    let devices: Device[] = [];
    const joinDeadline = Date.now() + 120_000;
    for (;;) {
      devices = (await getJson<Device[]>(`${url}/api/devices`)).filter((d) => d.status === 'idle');
      if (devices.length >= devicesWanted) break;
      if (Date.now() > joinDeadline) throw new Error(`only ${devices.length} of ${devicesWanted} devices joined`);
      await sleep(100);
    }

    const body = {
      model: config.model,
      modules: config.modules,
      context: config.context,
      dataset: 'synthetic',
      epochs: 1,
      batchSize: config.batchSize,
      lr: config.lr,
      limitTrain: config.train,
      limitTest: config.test,
      seed: config.seed,
      minDevices: devicesWanted,
    };
    const t0 = performance.now();
    const res = await fetch(`${url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-admin' }, body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`POST /api/jobs: ${res.status} ${await res.text()}`);
    const id = ((await res.json()) as { id: string }).id;

    // Time of each step's acknowledgement by the last stage (progress.stepsDone), at 100 ms resolution (< 1% of a 15-step window).
    const acks: Array<{ t: number; steps: number }> = [];
    let job: JobView;
    let lastSteps = 0;
    for (;;) {
      job = await getJson<JobView>(`${url}/api/jobs/${id}`);
      const now = performance.now();
      const steps = job.progress?.stepsDone ?? 0;
      if (steps > lastSteps) {
        acks.push({ t: now, steps });
        lastSteps = steps;
        process.stderr.write(`  pipeline step ${steps}/${job.progress!.totalSteps}\r`);
      }
      if (job.status === 'done') break;
      if (job.status === 'failed' || job.status === 'stopped') throw new Error(`job ${job.status}: ${job.error}`);
      if (job.status === 'paused') throw new Error('job paused: a device was lost');
      await sleep(100);
    }
    process.stderr.write('\n');
    const total = job.progress!.totalSteps;
    const firstAck = acks[0]!;
    const lastAck = acks.find((a) => a.steps === total)!;
    const windowSec = (lastAck.t - firstAck.t) / 1000;
    // Every batch is full here (train divisible by batch); steps beyond the first in the window.
    const samples = (total - firstAck.steps) * config.batchSize;
    const stageTimes: StageTime[] = job.plan.map((p) => {
      const st = job.stages.find((x) => x.stage === p.stage);
      return {
        stage: p.stage,
        device: p.deviceName,
        modules: `${p.firstModule}..${p.lastModule}`,
        estimatedMs: Math.round(p.estimatedMsPerBatch),
        measuredMs: st?.meanTrainMsPerBatch == null ? null : Math.round(st.meanTrainMsPerBatch),
        lastMs: p.measuredMsPerBatch === null ? null : Math.round(p.measuredMsPerBatch),
        computeMs: st && st.samplesPerSec > 0 ? Math.round((1000 * config.batchSize) / st.samplesPerSec) : null,
      };
    });
    const measured = stageTimes.map((t) => t.measuredMs);
    const idealSpeedup = measured.every((m): m is number => m !== null && m > 0) ? measured.reduce((a, b) => a + b, 0) / Math.max(...measured) : null;
    return {
      steps: total,
      samples,
      windowSec,
      samplesPerSec: samples / windowSec,
      wallSec: (lastAck.t - t0) / 1000,
      stageTimes,
      idealSpeedup,
      relayedTensorBytes: job.relayedTensorBytes,
      cuts: job.cuts,
      stages: job.stages.map((s) => ({ stage: s.stage, samples: s.samples, deviceSamplesPerSec: Number(s.samplesPerSec.toFixed(1)), bytesIn: s.bytesIn, bytesOut: s.bytesOut })),
      devices: devices.map((d) => ({ name: d.name, speedGflops: Number(d.speedGflops.toFixed(2)), rttMs: d.rttMs && Number(d.rttMs.toFixed(1)) })),
    };
  } finally {
    killChildren();
    await coordinator?.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}


interface RelayResult {
  job: Record<string, unknown>;
  /** h (+ image/history) bytes of one batch crossing the cut, MB. */
  mbPerBatch: number;
  steps: number;
  windowSec: number;
  /** Bytes the coordinator sent on to stage 1 in the window, MB/s (each also arrived from stage 0). */
  relayedMBps: number;
  /** Coordinator process CPU seconds per wall second in the window (1.0 = one core busy). */
  coordinatorCpu: number;
  /** Coordinator CPU milliseconds per relayed MB. */
  cpuMsPerMB: number;
}

/**
 * One coordinator (this process) relaying between two stage fakes (a child
 * process) that answer at once: the pipeline runs as fast as the coordinator
 * relays. Timed from the first to the last-but-one training acknowledgement
 * (the fakes send no checkpoint, which the epoch's last batch asks for).
 */
async function relayCapacity(batchSize: number, steps: number): Promise<RelayResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'contsup-relay-'));
  let coordinator: CoordinatorHandle | null = null;
  try {
    // 4 credits keep both fakes' inboxes full: the coordinator, not a round trip, sets the pace.
    coordinator = await startCoordinator({ port: 0, host: '127.0.0.1', dataDir, joinToken: 'bench-join', adminToken: 'bench-admin', credits: 4, log: () => undefined });
    const url = coordinator.url;
    const fakes = spawn(process.execPath, [FAKES, '--url', url, '--token', 'bench-join', '--count', '2'], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.add(fakes);
    for (let i = 0; ; i++) {
      const idle = (await getJson<Array<{ status: string }>>(`${url}/api/devices`)).filter((d) => d.status === 'idle');
      if (idle.length >= 2) break;
      if (i > 600) throw new Error('the stage fakes did not join');
      await sleep(100);
    }
    const job = { model: 'resnet20', modules: 2, context: 'E', dataset: 'synthetic', epochs: 1, batchSize, lr: 0.1, limitTrain: batchSize * steps, limitTest: batchSize, seed: 1, minDevices: 2, checkpointEvery: 10_000_000 };
    const res = await fetch(`${url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-admin' }, body: JSON.stringify(job) });
    if (res.status !== 201) throw new Error(`POST /api/jobs: ${res.status} ${await res.text()}`);
    const id = ((await res.json()) as { id: string }).id;
    let first: { t: number; cpu: NodeJS.CpuUsage; steps: number; bytes: number } | null = null;
    let last: { t: number; cpu: NodeJS.CpuUsage; steps: number; bytes: number } | null = null;
    for (;;) {
      const view = await getJson<JobView>(`${url}/api/jobs/${id}`);
      if (view.status === 'failed' || view.status === 'stopped') throw new Error(`relay job ${view.status}: ${view.error}`);
      const done = view.progress?.stepsDone ?? 0;
      const mark = { t: performance.now(), cpu: process.cpuUsage(), steps: done, bytes: view.stages[1]?.bytesIn ?? 0 };
      if (done >= 1 && !first) first = mark;
      if (first && done > first.steps) last = mark;
      if (done >= steps - 1) break;
      await sleep(20);
    }
    await fetch(`${url}/api/jobs/${id}/stop`, { method: 'POST', headers: { authorization: 'Bearer bench-admin' } });
    if (!first || !last) throw new Error('relay job: too few steps to time');
    const windowSec = (last.t - first.t) / 1000;
    const mb = (last.bytes - first.bytes) / 1e6;
    const cpuSec = (last.cpu.user - first.cpu.user + last.cpu.system - first.cpu.system) / 1e6;
    return {
      job,
      mbPerBatch: Number((last.bytes / Math.max(1, last.steps) / 1e6).toFixed(2)),
      steps: last.steps - first.steps,
      windowSec: Number(windowSec.toFixed(2)),
      relayedMBps: Number((mb / windowSec).toFixed(1)),
      coordinatorCpu: Number((cpuSec / windowSec).toFixed(2)),
      cpuMsPerMB: Number(((1000 * cpuSec) / mb).toFixed(2)),
    };
  } finally {
    killChildren();
    await coordinator?.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

type InProcessRun = InProcessPhase;
type PipelineRun = Awaited<ReturnType<typeof pipeline>>;

async function main(): Promise<void> {
  if (config.train % config.batchSize !== 0) throw new Error('--train must be a multiple of --batch (every timed batch full)');
  const backend = await selectBackend('wasm', (m) => process.stderr.write(`${m}\n`));
  tf.enableProdMode();
  const loadBefore = loadavg();
  process.stderr.write(
    `pipeline-bench: ${config.model} K=${config.modules} ${config.context}, ${config.train} samples, batch ${config.batchSize}, ${config.devices.join(' and ')} device processes (${config.planes.join(' and ')}), ${config.rounds} round(s); load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}\n`,
  );
  const round2 = (x: number): number => Number(x.toFixed(2));
  type Plane = 'relay' | 'direct';
  const rounds: Array<{ load: number[]; inProcess: InProcessRun; concurrent: CapacityRun[]; pipelines: Array<{ devices: number; plane: Plane; run: PipelineRun }> }> = [];
  if (config.parts.includes('speedup')) {
    for (let r = 0; r < config.rounds; r++) {
      const load = loadavg();
      const local = await inProcess();
      const pipelines: Array<{ devices: number; plane: Plane; run: PipelineRun }> = [];
      // Odd rounds run the planes in reverse, so neither always goes first after the in-process run.
      const planes = r % 2 === 0 ? config.planes : [...config.planes].reverse();
      const concurrent: CapacityRun[] = [];
      for (const n of config.devices) {
        for (const plane of planes) pipelines.push({ devices: n, plane, run: await pipeline(n, plane) });
        process.stderr.write(`  ${n} in-process trainers at once\n`);
        concurrent.push(await concurrentInProcess(n));
      }
      rounds.push({ load, inProcess: local, concurrent, pipelines });
    }
  }
  const relay: RelayResult[] = [];
  if (config.parts.includes('relay')) {
    // Big frames (the cost per byte) and small ones (the cost per message).
    for (const [batch, steps] of [[256, 24], [32, 96]] as const) relay.push(await relayCapacity(batch, steps));
  }
  const loadAfter = loadavg();

  // Best of the rounds on each side: the run least disturbed by other work on the machine.
  const bestLocal = rounds.length > 0 ? Math.max(...rounds.map((r) => r.inProcess.samplesPerSec)) : 0;
  const summary = config.devices.flatMap((n) => config.planes.map((plane) => ({ n, plane }))).map(({ n, plane }) => {
    const runs = rounds.map((r) => r.pipelines.find((p) => p.devices === n && p.plane === plane)!.run);
    const best = runs.reduce<PipelineRun | null>((a, b) => (a === null || b.samplesPerSec > a.samplesPerSec ? b : a), null);
    const speedup = best ? best.samplesPerSec / bestLocal : 0;
    // What n compute processes reach on this machine at all (best round), as a speedup over one.
    const machine = Math.max(...rounds.map((r) => r.concurrent.find((c) => c.processes === n)!.samplesPerSec)) / bestLocal;
    const bound = best?.idealSpeedup ? Math.min(best.idealSpeedup, machine) : null;
    const slowest = best ? Math.max(...best.stageTimes.map((t) => t.measuredMs ?? 0)) : 0;
    return {
      devices: n,
      plane,
      relayedTensorBytes: best?.relayedTensorBytes ?? null,
      samplesPerSec: best ? round2(best.samplesPerSec) : null,
      speedup: Number(speedup.toFixed(3)),
      stageTimes: best?.stageTimes ?? [],
      idealSpeedup: best?.idealSpeedup == null ? null : Number(best.idealSpeedup.toFixed(3)),
      ratioToIdeal: best?.idealSpeedup ? Number((speedup / best.idealSpeedup).toFixed(3)) : null,
      /** Slowest stage's time per batch / the pipeline's: 1.0 when the pipeline runs at its bottleneck's pace. */
      pipelineEfficiency: best && slowest > 0 ? Number((slowest / ((1000 * config.batchSize) / best.samplesPerSec)).toFixed(3)) : null,
      machineSpeedup: Number(machine.toFixed(3)),
      /** Against the lower of the ideal and what n in-process trainers at once reach here. */
      ratioToBound: bound ? Number((speedup / bound).toFixed(3)) : null,
    };
  });
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, backend, loadavgBefore: loadBefore, loadavgAfter: loadAfter },
    config,
    method:
      'samples of steps 2..n / time from the 1st to the last step completion (in process: trainer step callback; pipeline: last-stage acknowledgement, progress.stepsDone polled every 100 ms); ' +
      'speedup = best pipeline round / best in-process round; ideal = sum of the stages\' mean measured ms per training batch (after the first) / the slowest; machine = n in-process trainers at once (child processes), combined samples/s over the span of all their windows / one alone (best rounds); bound = min(ideal, machine); relay: stage fakes answering at once, MB the coordinator sent on to stage 1 per second and its process CPU',
    rounds: rounds.map((r) => ({
      loadavg: r.load.map(round2),
      inProcess: { ...r.inProcess, samplesPerSec: round2(r.inProcess.samplesPerSec) },
      concurrentInProcess: r.concurrent.map((c) => ({ ...c, samplesPerSec: round2(c.samplesPerSec) })),
      pipelines: r.pipelines.map((p) => ({ deviceCount: p.devices, plane: p.plane, ...p.run, samplesPerSec: round2(p.run.samplesPerSec), speedup: Number((p.run.samplesPerSec / r.inProcess.samplesPerSec).toFixed(3)) })),
    })),
    inProcessSamplesPerSec: round2(bestLocal),
    summary,
    relay,
    goal: 'ratioToIdeal >= 0.9 with the direct plane',
  };
  mkdirSync(RESULTS, { recursive: true });
  const planesTag = config.planes.join('-');
  const out = join(RESULTS, planesTag === 'relay' ? 'pipeline-bench.json' : `pipeline-bench-${planesTag}.json`);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);

  const f = (x: number, d = 1): string => x.toFixed(d);
  console.log(`\n${config.model} K=${config.modules} ${config.context}, synthetic ${config.train} samples, batch ${config.batchSize}, wasm, ${cpus().length} cores, load ${f(loadBefore[0]!, 2)} -> ${f(loadAfter[0]!, 2)}\n`);
  if (rounds.length > 0) {
    console.log('| run | plane | samples/s | speedup | stage ms/batch (measured) | ideal | ratio to ideal | slowest stage / ms per batch | n trainers at once | ratio to min(ideal, that) |');
    console.log('|---|---|---:|---:|---|---:|---:|---:|---:|---:|');
    console.log(`| in-process trainer | - | ${f(bestLocal)} | 1.00x | | | | | | |`);
    for (const s of summary) {
      const times = s.stageTimes.map((t) => `${t.device}[${t.modules}] ${t.measuredMs ?? '-'}`).join(', ');
      const ratio = (x: number | null): string => (x === null ? '-' : f(x, 2));
      console.log(
        `| ${s.devices} device processes | ${s.plane} | ${s.samplesPerSec === null ? '-' : f(s.samplesPerSec)} | ${f(s.speedup, 2)}x | ${times} | ${s.idealSpeedup === null ? '-' : `${f(s.idealSpeedup, 2)}x`} | ${ratio(s.ratioToIdeal)} | ${ratio(s.pipelineEfficiency)} | ${f(s.machineSpeedup, 2)}x | ${ratio(s.ratioToBound)} |`,
      );
    }
  }
  if (relay.length > 0) {
    console.log('\n| relay job | MB per batch | steps timed | relayed MB/s | coordinator CPU (cores) | CPU ms per MB |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const r of relay) console.log(`| resnet20 K=2 E batch ${String(r.job.batchSize)} | ${f(r.mbPerBatch, 2)} | ${r.steps} | ${f(r.relayedMBps)} | ${f(r.coordinatorCpu, 2)} | ${f(r.cpuMsPerMB, 2)} |`);
  }
}

// A child of concurrentInProcess: one in-process run, its result as JSON on stdout.
const entry = process.argv.includes('--child-in-process')
  ? selectBackend('wasm', () => undefined).then(async () => {
      tf.enableProdMode();
      process.stdout.write(JSON.stringify(await inProcess(true)));
    })
  : main();
entry
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    process.stderr.write(`pipeline-bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killChildren();
    process.exit(1);
  });
