/**
 * The GPU check's benchmark (bench/gpu-check.sh runs it from the bundle):
 * prints the WebGPU adapter, then trains ResNet-32 steps on webgpu for
 * K = 1 and K = 16 R0 at batch 128 and 512, one JSON line per row on stdout.
 *
 *   node gpu-bench.mjs [--batches 128,512] [--steps 3] [--backend webgpu] [--profile]
 *
 * --profile adds, per batch size, the ten kernels a K = 1 step spends most time in.
 */
import { readAsync, measureMatMulRate } from '../engine/backend/matmul-rate.js';
import type { NodeBackendName } from '../engine/backend/backend-names.js';
import { backendAdapter, describeBackend, selectBackend } from '../engine/backend/select-backend.js';
import { makeStepBench, measureStep, profileKernels } from './step-timing.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  const backend = await selectBackend(arg('backend', 'webgpu') as NodeBackendName, (m) => console.error(m));
  console.log(JSON.stringify({ event: 'adapter', backend, detail: describeBackend(), adapter: backendAdapter() }));
  const batches = arg('batches', '128,512').split(',').map(Number);
  const steps = Number(arg('steps', '3'));
  // Asynchronous: dawn.node cannot read GPU buffers synchronously.
  const matMulGflops = await measureMatMulRate(1024, 5, readAsync);
  console.error(`backend ${describeBackend()}; matMul 1024x1024: ${matMulGflops.toFixed(1)} GFLOP/s`);
  for (const batchSize of batches) {
    for (const [modules, context] of [[1, 'R0'], [16, 'R0']] as const) {
      const row = await measureStep(modules, context, batchSize, steps, matMulGflops);
      console.log(JSON.stringify({ event: 'row', runtime: 'contsup-webgpu', backend, ...row }));
    }
    if (process.argv.includes('--profile')) {
      const bench = makeStepBench(1, 'R0', batchSize);
      try {
        await bench.step(false); // warm-up: shader compilation is not a kernel's cost
        const kernels = await profileKernels(bench);
        const total = kernels.reduce((sum, k) => sum + k.ms, 0);
        const top = kernels.slice(0, 10).map((k) => ({ ...k, share: total > 0 ? k.ms / total : 0 }));
        console.log(JSON.stringify({ event: 'profile', backend, modules: 1, context: 'R0', batchSize, totalKernelMs: total, top }));
      } finally {
        bench.dispose();
      }
    }
  }
}

main().then(
  // dawn.node keeps the process alive while its instance exists.
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
