/**
 * Training-step benchmark: ResNet-32 at batch 128 for K = 1 and K = 16 on one
 * backend (default wasm). Reports samples/s and the effective FLOP rate
 * (3 x forward FLOPs / step time) as a ratio to the backend's matMul rate
 * measured in the same run. Writes bench/results/step-bench.json.
 *
 *   npm run build && node dist/bench/step-bench.js [--backend wasm] [--batch 128] [--steps 3]
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { NodeBackendName } from '../engine/backend/backend-names.js';
import { selectBackend } from '../engine/backend/select-backend.js';
import { measureMatMulRate } from '../engine/backend/matmul-rate.js';
import { measureStep, type StepRow } from './step-timing.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const backend = await selectBackend(arg('backend', 'wasm') as NodeBackendName, (m) => console.error(m));
  const batchSize = Number(arg('batch', '128'));
  const steps = Number(arg('steps', '3'));
  const matMulGflops = await measureMatMulRate(1024, 5);
  console.error(`backend ${backend}; matMul 1024x1024: ${matMulGflops.toFixed(1)} GFLOP/s`);
  const rows: StepRow[] = [];
  for (const [modules, context] of [[1, 'R0'], [16, 'R0'], [16, 'R1E']] as const) {
    const row = await measureStep(modules, context, batchSize, steps, matMulGflops);
    rows.push(row);
    console.error(JSON.stringify(row));
  }
  const result = { date: new Date().toISOString(), backend, batchSize, steps, matMulGflops, rows, note: 'ratios are measured in one run; absolute times vary by machine' };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/step-bench.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log('| K | context | samples/s | step ms | fwd GFLOP/step | effective GFLOP/s | ratio to matMul | peak MiB (largest module) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.modules} | ${r.context} | ${r.samplesPerSec.toFixed(1)} | ${r.stepMs.toFixed(0)} | ${r.forwardGflopPerStep.toFixed(2)} | ${r.effectiveGflops.toFixed(1)} | ${r.ratioToMatMul.toFixed(2)} | ${r.peakMiB.toFixed(1)} |`);
  }
  tf.disposeVariables();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
