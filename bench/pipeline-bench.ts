/**
 * Pipeline benchmark: training throughput of the in-process trainer vs a
 * coordinator and N `contsup device` processes on the same job (default
 * ResNet-32, K=4, E, synthetic, batch 32, 512 training samples, wasm).
 *
 * Both sides are timed the same way, over the training phase only: samples
 * between the first and the last training step's completion, divided by the
 * time between them (the first step, with its warm-up, is excluded; start-up
 * and evaluation are outside the window). In process, a step completes when
 * the trainer reports it; in the pipeline, when the last stage acknowledges
 * it (the job's progress.stepsDone, polled every 20 ms). Writes
 * bench/results/pipeline-bench.json and prints a markdown table.
 *
 *   npm run build && node dist/bench/pipeline-bench.js [--model resnet32] [--modules 4] [--train 512] [--batch 32] [--devices 2] [--rounds 1]
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
const CLI = join(here, '..', 'client', 'node', 'cli.js');
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
  devices: Number(arg('devices', '2')),
  rounds: Number(arg('rounds', '1')),
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
  process.stderr.write('pipeline-bench: no result after 15 minutes, giving up\n');
  killChildren();
  process.exit(2);
}, 15 * 60_000);
watchdog.unref();

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

async function inProcess(): Promise<PhaseResult & { stepMs: number[] }> {
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
  const marks: Array<{ t: number; samples: number }> = [];
  const t0 = performance.now();
  await trainer.trainEpoch(data.train, data.preprocess, 1, (r) => {
    marks.push({ t: performance.now(), samples: r.samples });
    process.stderr.write(`  in-process step ${r.step + 1}/${r.totalSteps}\r`);
  });
  process.stderr.write('\n');
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
  };
}

interface JobView {
  status: string;
  error: string | null;
  progress: { totalSteps: number; stepsDone: number; batchesPerEpoch: number } | null;
  plan: Array<{ stage: number; deviceName: string; firstModule: number; lastModule: number; estimatedMsPerBatch: number; measuredMsPerBatch: number | null }>;
  stages: Array<{ stage: number; samples: number; samplesPerSec: number; bytesIn: number; bytesOut: number; measuredMsPerBatch: number | null }>;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

async function pipeline(): Promise<PhaseResult & { plan: unknown; stages: unknown; devices: unknown }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'contsup-bench-'));
  let coordinator: CoordinatorHandle | null = null;
  try {
    coordinator = await startCoordinator({ port: 0, host: '127.0.0.1', dataDir, joinToken: 'bench-join', adminToken: 'bench-admin', log: () => undefined });
    const url = coordinator.url;
    const names = Array.from({ length: config.devices }, (_, i) => `bench-d${i + 1}`);
    for (const name of names) {
      const child = spawn(process.execPath, [CLI, 'device', '--url', url, '--token', 'bench-join', '--name', name, '--backend', 'wasm'], { stdio: ['ignore', 'ignore', 'pipe'] });
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
      if (devices.length >= config.devices) break;
      if (Date.now() > joinDeadline) throw new Error(`only ${devices.length} of ${config.devices} devices joined`);
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
      minDevices: config.devices,
    };
    const t0 = performance.now();
    const res = await fetch(`${url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-admin' }, body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`POST /api/jobs: ${res.status} ${await res.text()}`);
    const id = ((await res.json()) as { id: string }).id;

    // Time of each step's acknowledgement by the last stage (progress.stepsDone), at 20 ms resolution.
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
      await sleep(20);
    }
    process.stderr.write('\n');
    const total = job.progress!.totalSteps;
    const firstAck = acks[0]!;
    const lastAck = acks.find((a) => a.steps === total)!;
    const windowSec = (lastAck.t - firstAck.t) / 1000;
    // Every batch is full here (train divisible by batch); steps beyond the first in the window.
    const samples = (total - firstAck.steps) * config.batchSize;
    return {
      steps: total,
      samples,
      windowSec,
      samplesPerSec: samples / windowSec,
      wallSec: (lastAck.t - t0) / 1000,
      plan: job.plan.map((p) => ({ stage: p.stage, device: p.deviceName, modules: `${p.firstModule}..${p.lastModule}`, estimatedMs: Math.round(p.estimatedMsPerBatch), measuredMs: p.measuredMsPerBatch && Math.round(p.measuredMsPerBatch) })),
      stages: job.stages.map((s) => ({ stage: s.stage, samples: s.samples, deviceSamplesPerSec: Number(s.samplesPerSec.toFixed(1)), bytesIn: s.bytesIn, bytesOut: s.bytesOut })),
      devices: devices.map((d) => ({ name: d.name, speedGflops: Number(d.speedGflops.toFixed(2)), rttMs: d.rttMs && Number(d.rttMs.toFixed(1)) })),
    };
  } finally {
    killChildren();
    await coordinator?.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (config.train % config.batchSize !== 0) throw new Error('--train must be a multiple of --batch (every timed batch full)');
  const backend = await selectBackend('wasm', (m) => process.stderr.write(`${m}\n`));
  tf.enableProdMode();
  const loadBefore = loadavg();
  process.stderr.write(
    `pipeline-bench: ${config.model} K=${config.modules} ${config.context}, ${config.train} samples, batch ${config.batchSize}, ${config.devices} device processes, ${config.rounds} round(s); load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}\n`,
  );
  // Rounds alternate the two runs, so a load change on a shared machine hits both sides alike.
  const rounds: Array<{ load: number[]; inProcess: Awaited<ReturnType<typeof inProcess>>; pipeline: Awaited<ReturnType<typeof pipeline>>; ratio: number }> = [];
  for (let r = 0; r < config.rounds; r++) {
    const load = loadavg();
    const local = await inProcess();
    const piped = await pipeline();
    rounds.push({ load, inProcess: local, pipeline: piped, ratio: piped.samplesPerSec / local.samplesPerSec });
  }
  const loadAfter = loadavg();
  // Best of the rounds on each side: the run least disturbed by other work on the machine.
  const bestLocal = Math.max(...rounds.map((r) => r.inProcess.samplesPerSec));
  const bestPiped = Math.max(...rounds.map((r) => r.pipeline.samplesPerSec));
  const ratio = bestPiped / bestLocal;

  const round2 = (x: number): number => Number(x.toFixed(2));
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, backend, loadavgBefore: loadBefore, loadavgAfter: loadAfter },
    config,
    method:
      'samples of steps 2..n / time from the 1st to the last step completion (in process: trainer step callback; pipeline: last-stage acknowledgement, progress.stepsDone polled every 20 ms); ratio = best pipeline round / best in-process round',
    rounds: rounds.map((r) => ({
      loadavg: r.load.map(round2),
      inProcess: { ...r.inProcess, samplesPerSec: round2(r.inProcess.samplesPerSec) },
      pipeline: { ...r.pipeline, samplesPerSec: round2(r.pipeline.samplesPerSec) },
      ratio: Number(r.ratio.toFixed(3)),
    })),
    inProcessSamplesPerSec: round2(bestLocal),
    pipelineSamplesPerSec: round2(bestPiped),
    ratio: Number(ratio.toFixed(3)),
    goal: 1.6,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'pipeline-bench.json'), `${JSON.stringify(result, null, 2)}\n`);

  const f = (x: number, d = 1): string => x.toFixed(d);
  console.log(`\n${config.model} K=${config.modules} ${config.context}, synthetic ${config.train} samples, batch ${config.batchSize}, wasm, ${cpus().length} cores\n`);
  console.log('| round | load (1 min) | run | steps | timed samples | window s | samples/s | wall s (incl. 1st step) | plan (measured ms/batch) |');
  console.log('|---:|---:|---|---:|---:|---:|---:|---:|---|');
  rounds.forEach((r, i) => {
    const a = r.inProcess;
    const b = r.pipeline;
    const plan = (b.plan as Array<{ device: string; modules: string; measuredMs: number | null }>).map((p) => `${p.device}[${p.modules}] ${p.measuredMs ?? '-'}`).join(', ');
    console.log(`| ${i + 1} | ${f(r.load[0]!, 2)} | in-process trainer | ${a.steps} | ${a.samples} | ${f(a.windowSec, 2)} | ${f(a.samplesPerSec)} | ${f(a.wallSec, 2)} | |`);
    console.log(`| ${i + 1} | | coordinator + ${config.devices} device processes | ${b.steps} | ${b.samples} | ${f(b.windowSec, 2)} | ${f(b.samplesPerSec)} | ${f(b.wallSec, 2)} | ${plan} |`);
  });
  console.log(`\npipeline / in-process (best rounds): **${f(ratio, 2)}x** (goal >= 1.6x); per round: ${rounds.map((r) => `${f(r.ratio, 2)}x`).join(', ')}`);
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    process.stderr.write(`pipeline-bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killChildren();
    process.exit(1);
  });
