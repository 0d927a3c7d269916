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
import { generateSynthetic } from '../engine/data/synthetic.js';
import type { NodeBackendName } from '../engine/backend/backend-names.js';
import { selectBackend } from '../engine/backend/select-backend.js';
import { DEFAULT_MODEL_CONFIG } from '../engine/model/config.js';
import { GllNetwork, type ModuleInput } from '../engine/model/network.js';
import { disposePrepared, prepareBatch } from '../engine/train/batches.js';
import { StageRunner } from '../engine/train/stage-runner.js';
import { countFlops } from '../engine/model/flops.js';
import { measureMatMulRate } from '../engine/backend/matmul-rate.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

interface Row {
  modules: number;
  context: string;
  samplesPerSec: number;
  stepMs: number;
  forwardGflopPerStep: number;
  effectiveGflops: number;
  ratioToMatMul: number;
  peakMiB: number;
}

async function main(): Promise<void> {
  const backend = await selectBackend(arg('backend', 'wasm') as NodeBackendName, (m) => console.error(m));
  const batchSize = Number(arg('batch', '128'));
  const steps = Number(arg('steps', '3'));
  const matMulGflops = await measureMatMulRate(1024, 5);
  console.error(`backend ${backend}; matMul 1024x1024: ${matMulGflops.toFixed(1)} GFLOP/s`);
  const data = generateSynthetic({ seed: 1, trainCount: batchSize, testCount: 2 });
  const rows: Row[] = [];
  for (const [modules, context] of [[1, 'R0'], [16, 'R0'], [16, 'R1E']] as const) {
    const net = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, modules, context });
    const runner = new StageRunner(net, 0, modules - 1);
    const batch = prepareBatch(net, data.train.images, data.train.labels, [32, 32, 3], data.preprocess);
    // Forward FLOPs of one training-mode pass through every module (heads and encoders included).
    const flops = await countFlops(() => {
      let input: ModuleInput = batch.input;
      for (let k = 0; k < modules; k++) {
        const out = net.forward(k, input, true);
        input = { h: out.features, image: input.image, history: [...input.history, out.combined].slice(-Math.max(1, net.historyLength)) };
      }
    });
    const step = async (profile: boolean): Promise<void> => {
      const { output } = await runner.train(batch.input, batch.labels, batch.target, 0.01, profile);
      // The output aliases the input's image, which the next step reuses: free only what is new.
      const reused = new Set<tf.Tensor | null>([batch.input.h, batch.input.image, ...batch.input.history]);
      tf.dispose([output.h, output.image, ...output.history].filter((t): t is tf.Tensor4D => t !== null && !reused.has(t)));
    };
    await step(true); // warm-up (kernel set-up, momentum buffers) and peak memory
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step(false);
    const stepMs = (performance.now() - t0) / steps;
    const effective = (3 * flops) / (stepMs / 1000) / 1e9;
    rows.push({
      modules,
      context,
      samplesPerSec: batchSize / (stepMs / 1000),
      stepMs,
      forwardGflopPerStep: flops / 1e9,
      effectiveGflops: effective,
      ratioToMatMul: effective / matMulGflops,
      peakMiB: Math.max(...runner.peakBytes) / 2 ** 20,
    });
    console.error(JSON.stringify(rows[rows.length - 1]));
    disposePrepared(batch);
    runner.dispose();
    net.dispose();
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
