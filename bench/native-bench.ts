/**
 * contsup's native backend (1 and 2 threads) and wasm against a PyTorch peer
 * of the same network (bench/torch-peer.py), ResNet-32 at batch 128 for K = 1,
 * K = 16 R0 and K = 16 R1E, one training step of every module per batch. All
 * sides run in one run, each measurement in a fresh process, and the order of
 * the sides flips every repetition so that machine noise hits both.
 * Writes bench/results/native-bench.json and bench/results/native-bench.md.
 *
 *   npm run build && npm run bench:native [-- --quick] [--reps 2] [--steps 3] [--warmup 1]
 *   npm run bench:native -- --render    (rewrites the .md from the .json, measures nothing)
 *   npm run bench:native -- --sides native-1t,pytorch-1t --rows 16R1E   (a subset, e.g. after a kernel change)
 *
 * Internally: `native-bench.js --worker --backend wasm --threads 1 --modules 16
 * --context R1E ...` measures one contsup configuration and prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { NodeBackendName } from '../engine/backend/backend-names.js';
import { backendThreads, describeBackend, selectBackend } from '../engine/backend/select-backend.js';
import { makeStepBench, timeSteps } from './step-timing.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function intArg(name: string, fallback: number, min: number): number {
  const v = Number(arg(name, String(fallback)));
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer >= ${min}, got "${arg(name, '')}"`);
  return v;
}

const flag = (name: string): boolean => process.argv.includes(`--${name}`);

/** One measurement of one side on one row, as the worker or the PyTorch peer prints it. */
interface Measurement {
  samplesPerSec: number;
  stepMs: number;
  /** Per module: peak bytes of its training step (temporaries + its state). */
  peakBytes: number[];
  params: { backbone: number; heads: number; context: number };
  /** What ran, e.g. 'wasm (SIMD, 1 thread)' or 'torch 1.13.0a0 channels_last'. */
  detail: string;
  threadsInUse: number | null;
}

interface Side {
  id: string;
  kind: 'contsup' | 'pytorch';
  backend: string;
  threads: number;
}

const ROWS = [
  { modules: 1, context: 'R0' },
  { modules: 16, context: 'R0' },
  { modules: 16, context: 'R1E' },
] as const;

const CONTSUP_BACKENDS = ['native', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu'];

// ---------------------------------------------------------------- worker side

async function worker(): Promise<void> {
  const backend = arg('backend', 'wasm');
  if (!CONTSUP_BACKENDS.includes(backend)) throw new Error(`--backend must be one of ${CONTSUP_BACKENDS.join(', ')}, got "${backend}"`);
  const threads = intArg('threads', 1, 1);
  if (backend === 'native' && !existsSync(fileURLToPath(new URL('../engine/backend/native/', import.meta.url)))) {
    throw new Error('this tree has no native backend (engine/backend/native)');
  }
  // 'native' joins NodeBackendName with the native backend; until then selectBackend rejects it with its reason.
  await selectBackend(backend as NodeBackendName, (m) => process.stderr.write(`${m}\n`), { threads });
  tf.enableProdMode();
  if (flag('probe')) {
    process.stdout.write(`${JSON.stringify({ detail: describeBackend(), threadsInUse: await backendThreads() })}\n`);
    return;
  }
  const bench = makeStepBench(intArg('modules', 1, 1), arg('context', 'R0'), intArg('batch', 128, 2));
  try {
    for (let i = 0; i < intArg('warmup', 1, 0); i++) await bench.step(false);
    // Profiled after the warm-up, as the peer does: momentum buffers exist and are counted once, as state.
    await bench.step(true);
    const stepMs = await timeSteps(bench, intArg('steps', 3, 1));
    const counts = bench.net.paramCounts();
    const m: Measurement = {
      samplesPerSec: bench.batch.labels.shape[0] / (stepMs / 1000),
      stepMs,
      peakBytes: [...bench.runner.peakBytes],
      params: { backbone: counts.backbone, heads: counts.head, context: counts.context },
      detail: describeBackend(),
      threadsInUse: await backendThreads(),
    };
    process.stdout.write(`${JSON.stringify(m)}\n`);
  } finally {
    bench.dispose();
  }
}

// ---------------------------------------------------------------- driver side

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  return lines[lines.length - 1] ?? '(no output)';
}

const SELF = fileURLToPath(import.meta.url);
const PEER = fileURLToPath(new URL('../../bench/torch-peer.py', import.meta.url));
// Debian's interpreter has python3-torch; a pyenv `python3` on PATH often has not.
const PYTHON = process.env.CONTSUP_BENCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const TIMEOUT_MS = 20 * 60_000;

interface StepPlan {
  batch: number;
  steps: number;
  warmup: number;
}

function sideArgs(side: Side, row: (typeof ROWS)[number], plan: StepPlan): [string, string[]] {
  const common = ['--modules', String(row.modules), '--context', row.context, '--batch', String(plan.batch), '--threads', String(side.threads), '--steps', String(plan.steps), '--warmup', String(plan.warmup)];
  if (side.kind === 'pytorch') return [PYTHON, [PEER, '--model', 'resnet32', ...common, '--json']];
  return [process.execPath, [SELF, '--worker', '--backend', side.backend, ...common]];
}

async function measure(side: Side, row: (typeof ROWS)[number], plan: StepPlan): Promise<Measurement> {
  const [cmd, args] = sideArgs(side, row, plan);
  const r = await run(cmd, args, TIMEOUT_MS);
  if (r.code !== 0) throw new Error(`${side.id} K=${row.modules} ${row.context} failed (exit ${r.code}): ${lastLine(r.stderr)}`);
  const parsed = JSON.parse(lastLine(r.stdout)) as Record<string, unknown>;
  if (side.kind === 'contsup') return parsed as unknown as Measurement;
  return {
    samplesPerSec: parsed.samplesPerSec as number,
    stepMs: parsed.stepMs as number,
    peakBytes: parsed.peakBytes as number[],
    params: parsed.params as Measurement['params'],
    detail: `torch ${String(parsed.torch)} ${String(parsed.memoryFormat)}`,
    threadsInUse: parsed.threads as number,
  };
}

/** Which sides can run here; prints one line for each that cannot, and why. */
async function availableSides(skip: (why: string) => void): Promise<Side[]> {
  const sides: Side[] = [];
  const probe = await run(process.execPath, [SELF, '--worker', '--probe', '--backend', 'native', '--threads', '1'], 120_000);
  if (probe.code === 0) {
    sides.push({ id: 'native-1t', kind: 'contsup', backend: 'native', threads: 1 }, { id: 'native-2t', kind: 'contsup', backend: 'native', threads: 2 });
  } else {
    skip(`native backend skipped: ${lastLine(probe.stderr)}`);
  }
  sides.push({ id: 'wasm', kind: 'contsup', backend: 'wasm', threads: 1 });
  const torch = await run(PYTHON, ['-c', 'import torch; print(torch.__version__)'], 120_000).catch((err: unknown) => ({ code: -1, stdout: '', stderr: String(err) }));
  if (torch.code === 0) {
    sides.push({ id: 'pytorch-1t', kind: 'pytorch', backend: 'pytorch', threads: 1 }, { id: 'pytorch-2t', kind: 'pytorch', backend: 'pytorch', threads: 2 });
  } else {
    skip(`PyTorch peer skipped: ${PYTHON} cannot import torch (${lastLine(torch.stderr)}); set CONTSUP_BENCH_PYTHON or apt-get install python3-torch`);
  }
  return sides;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

interface ResultRow {
  modules: number;
  context: string;
  side: string;
  backend: string;
  threads: number;
  threadsInUse: number | null;
  detail: string;
  /** Median over the repetitions. */
  samplesPerSec: number;
  runs: number[];
  /** contsup samples/s over PyTorch's at the same requested thread count (wasm: 1). */
  ratioToPytorch: number | null;
  peakBytes: number[];
  params: Measurement['params'];
}

const mib = (b: number): string => (b / 2 ** 20).toFixed(1);

/** The machine's load while the run measured: 1-minute load averages at its start and end (what `uptime` shows). */
interface Load {
  cores: number;
  start: number;
  end: number;
}

const loadNow = (): number => Number(loadavg()[0].toFixed(2));

function markdown(rows: ResultRow[], meta: { date: string; quick: boolean; reps: number; plan: StepPlan; skipped: string[]; load?: Load }): string {
  const out: string[] = [];
  out.push(`# Native backend vs PyTorch (${meta.quick ? 'QUICK smoke run: 1 repetition, few steps; indicative only' : `${meta.reps} repetitions, median`})`);
  out.push('');
  out.push(`${meta.date}; ResNet-32, batch ${meta.plan.batch}, one training step of every module per batch; ${meta.plan.warmup} warm-up + ${meta.plan.steps} timed step(s) per measurement, each in a fresh process.`);
  if (meta.load) out.push(`Machine: ${meta.load.cores} cores; 1-minute load average ${meta.load.start} at the start, ${meta.load.end} at the end (other work shared the cores).`);
  for (const s of meta.skipped) out.push(`- ${s}`);
  out.push('');
  out.push('| K | context | side | threads | samples/s | ratio to PyTorch (same threads) | peak MiB, largest module | PyTorch peak MiB, largest module |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const peer = rows.find((p) => p.side.startsWith('pytorch') && p.modules === r.modules && p.context === r.context && p.threads === r.threads);
    const threads = r.threadsInUse !== null && r.threadsInUse !== r.threads ? `${r.threads} (${r.threadsInUse} in use)` : String(r.threads);
    const peerPeak = peer && peer !== r ? mib(Math.max(...peer.peakBytes)) : '-';
    out.push(`| ${r.modules} | ${r.context} | ${r.side} | ${threads} | ${r.samplesPerSec.toFixed(1)} | ${r.ratioToPytorch === null ? '-' : `${r.ratioToPytorch.toFixed(2)}x`} | ${mib(Math.max(...r.peakBytes))} | ${peerPeak} |`);
  }
  for (const row of ROWS) {
    const sides = rows.filter((r) => r.modules === row.modules && r.context === row.context);
    if (sides.length === 0) continue;
    out.push('');
    out.push(`Peak MiB per module, K = ${row.modules} ${row.context}:`);
    out.push('');
    out.push(`| module | ${sides.map((s) => s.side).join(' | ')} |`);
    out.push(`|---|${sides.map(() => '---').join('|')}|`);
    for (let k = 0; k < row.modules; k++) out.push(`| ${k} | ${sides.map((s) => mib(s.peakBytes[k] ?? 0)).join(' | ')} |`);
  }
  out.push('');
  out.push('Peak memory: contsup = tf.profile peak of tensor bytes during the module step above those alive before it, plus the module\'s parameters, BN state and momentum buffers; PyTorch = the same from torch.profiler(profile_memory=True) CPU allocation events, plus parameters, buffers and momentum buffers. Both measured on one step after the warm-up.');
  return `${out.join('\n')}\n`;
}

async function driver(): Promise<void> {
  const quick = flag('quick');
  const reps = intArg('reps', quick ? 1 : 2, 1);
  const plan: StepPlan = { batch: intArg('batch', 128, 2), steps: intArg('steps', quick ? 1 : 3, 1), warmup: intArg('warmup', 1, 0) };
  const skipped: string[] = [];
  const loadStart = loadNow();
  const wanted = (list: string, all: string[]): string[] => (list === '' ? all : list.split(','));
  const allSides = await availableSides((why) => {
    skipped.push(why);
    console.log(why);
  });
  const sideIds = wanted(arg('sides', ''), allSides.map((s) => s.id));
  const sides = allSides.filter((s) => sideIds.includes(s.id));
  const rowIds = wanted(arg('rows', ''), ROWS.map((r) => `${r.modules}${r.context}`));
  const rows = ROWS.filter((r) => rowIds.includes(`${r.modules}${r.context}`));
  if (sides.length === 0 || rows.length === 0) throw new Error(`--sides / --rows select nothing (sides: ${allSides.map((s) => s.id).join(', ')}; rows: ${ROWS.map((r) => `${r.modules}${r.context}`).join(', ')})`);
  const runs = new Map<string, Measurement[]>();
  for (let rep = 0; rep < reps; rep++) {
    for (const row of rows) {
      // contsup first on even repetitions, PyTorch first on odd ones.
      const order = rep % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const m = await measure(side, row, plan);
        const key = `${side.id}/${row.modules}/${row.context}`;
        runs.set(key, [...(runs.get(key) ?? []), m]);
        process.stderr.write(`rep ${rep + 1}/${reps} K=${row.modules} ${row.context} ${side.id}: ${m.samplesPerSec.toFixed(1)} samples/s (${m.detail}; load ${loadNow()})\n`);
      }
    }
  }
  const results: ResultRow[] = [];
  for (const row of rows) {
    for (const side of sides) {
      const ms = runs.get(`${side.id}/${row.modules}/${row.context}`) ?? [];
      const last = ms[ms.length - 1];
      results.push({
        modules: row.modules,
        context: row.context,
        side: side.id,
        backend: side.backend,
        threads: side.threads,
        threadsInUse: last.threadsInUse,
        detail: last.detail,
        samplesPerSec: median(ms.map((m) => m.samplesPerSec)),
        runs: ms.map((m) => m.samplesPerSec),
        ratioToPytorch: null,
        peakBytes: last.peakBytes,
        params: last.params,
      });
    }
  }
  for (const r of results) {
    if (r.side.startsWith('pytorch')) continue;
    const peer = results.find((p) => p.side.startsWith('pytorch') && p.modules === r.modules && p.context === r.context && p.threads === r.threads);
    if (!peer) continue;
    r.ratioToPytorch = r.samplesPerSec / peer.samplesPerSec;
    // Same network on both sides, or the comparison means nothing.
    if (JSON.stringify(r.params) !== JSON.stringify(peer.params)) {
      throw new Error(`K=${r.modules} ${r.context}: contsup params ${JSON.stringify(r.params)} differ from PyTorch's ${JSON.stringify(peer.params)}`);
    }
  }
  const date = new Date().toISOString();
  const load: Load = { cores: cpus().length, start: loadStart, end: loadNow() };
  mkdirSync('bench/results', { recursive: true });
  // A subset never overwrites the full table.
  const out = sides.length === allSides.length && rows.length === ROWS.length ? 'bench/results/native-bench' : 'bench/results/native-bench-subset';
  const result = { date, quick, reps, ...plan, model: 'resnet32', skipped, load, rows: results };
  writeFileSync(`${out}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const md = markdown(results, { date, quick, reps, plan, skipped, load });
  writeFileSync(`${out}.md`, md);
  process.stdout.write(md);
}

/** `--render`: rewrites native-bench.md from native-bench.json (after a change of the table only). */
function render(): void {
  const r = JSON.parse(readFileSync('bench/results/native-bench.json', 'utf8')) as { date: string; quick: boolean; reps: number; rows: ResultRow[]; skipped: string[]; load?: Load } & StepPlan;
  const md = markdown(r.rows, { date: r.date, quick: r.quick, reps: r.reps, plan: { batch: r.batch, steps: r.steps, warmup: r.warmup }, skipped: r.skipped, load: r.load });
  writeFileSync('bench/results/native-bench.md', md);
  process.stdout.write(md);
}

(flag('worker') ? worker() : flag('render') ? Promise.resolve(render()) : driver()).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
