/**
 * How a benchmark times contsup: one training step of every module of a
 * network on one prepared batch, through the same StageRunner the trainer and
 * the devices use. Shared by step-bench, native-bench and gpu-bench (the GPU
 * check bundle).
 */
import * as tf from '@tensorflow/tfjs-core';
import { generateSynthetic } from '../engine/data/synthetic.js';
import { DEFAULT_MODEL_CONFIG } from '../engine/model/config.js';
import { countFlops } from '../engine/model/flops.js';
import { GllNetwork, type ModuleInput } from '../engine/model/network.js';
import type { ResNetName } from '../engine/model/backbone.js';
import { disposePrepared, prepareBatch, type PreparedBatch } from '../engine/train/batches.js';
import { StageRunner } from '../engine/train/stage-runner.js';

export interface StepBench {
  net: GllNetwork;
  runner: StageRunner;
  batch: PreparedBatch;
  /** One training step of every module; with `profile`, refreshes runner.peakBytes. */
  step(profile: boolean): Promise<void>;
  dispose(): void;
}

/** A network of `modules` modules (context `context`) and one synthetic batch of `batchSize` images. */
export function makeStepBench(modules: number, context: string, batchSize: number, model: ResNetName = 'resnet32'): StepBench {
  const data = generateSynthetic({ seed: 1, trainCount: batchSize, testCount: 2 });
  const net = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, model, modules, context });
  const runner = new StageRunner(net, 0, modules - 1);
  const batch = prepareBatch(net, data.train.images, data.train.labels, [32, 32, 3], data.preprocess);
  const step = async (profile: boolean): Promise<void> => {
    const { output } = await runner.train(batch.input, batch.labels, batch.target, 0.01, profile);
    // The output aliases the input's image, which the next step reuses: free only what is new.
    const reused = new Set<tf.Tensor | null>([batch.input.h, batch.input.image, ...batch.input.history]);
    tf.dispose([output.h, output.image, ...output.history].filter((t): t is tf.Tensor4D => t !== null && !reused.has(t)));
  };
  return {
    net,
    runner,
    batch,
    step,
    dispose: () => {
      disposePrepared(batch);
      runner.dispose();
      net.dispose();
    },
  };
}

/** Mean milliseconds of one step over `steps` unprofiled steps. */
export async function timeSteps(bench: StepBench, steps: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await bench.step(false);
  return (performance.now() - t0) / steps;
}

/** One row of the training-step benchmark. */
export interface StepRow {
  modules: number;
  context: string;
  batchSize: number;
  samplesPerSec: number;
  stepMs: number;
  forwardGflopPerStep: number;
  effectiveGflops: number;
  ratioToMatMul: number;
  peakMiB: number;
}

/**
 * ResNet-32 cut into `modules`: one profiled warm-up step, then the mean of
 * `steps` timed ones; the effective rate (3 x forward FLOPs / step time) is
 * compared with the backend's matMul rate measured in the same run.
 */
export async function measureStep(modules: number, context: string, batchSize: number, steps: number, matMulGflops: number): Promise<StepRow> {
  const bench = makeStepBench(modules, context, batchSize);
  try {
    const { net, runner, batch } = bench;
    // Forward FLOPs of one training-mode pass through every module (heads and encoders included).
    const flops = await countFlops(() => {
      let input: ModuleInput = batch.input;
      for (let k = 0; k < modules; k++) {
        const out = net.forward(k, input, true);
        input = { h: out.features, image: input.image, history: [...input.history, out.combined].slice(-Math.max(1, net.historyLength)) };
      }
    });
    await bench.step(true); // warm-up (kernel set-up, momentum buffers) and peak memory
    const stepMs = await timeSteps(bench, steps);
    const effective = (3 * flops) / (stepMs / 1000) / 1e9;
    return {
      modules,
      context,
      batchSize,
      samplesPerSec: batchSize / (stepMs / 1000),
      stepMs,
      forwardGflopPerStep: flops / 1e9,
      effectiveGflops: effective,
      ratioToMatMul: effective / matMulGflops,
      peakMiB: Math.max(...runner.peakBytes) / 2 ** 20,
    };
  } finally {
    bench.dispose();
  }
}

/** Time spent in one kernel name over a profiled step. */
export interface KernelTime {
  name: string;
  calls: number;
  ms: number;
}

/**
 * One training step under tf.profile, with the backend's time per kernel
 * summed by kernel name, largest first: where a step's time goes (a naive
 * kernel shows up at the top). Kernel times are the backend's own timer
 * (GPU timestamps where the adapter has them), so they need not add up to
 * the step's wall time.
 */
export async function profileKernels(bench: StepBench): Promise<KernelTime[]> {
  const info = await tf.profile(() => bench.step(false));
  const byName = new Map<string, KernelTime>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const row = byName.get(k.name) ?? { name: k.name, calls: 0, ms: 0 };
    row.calls += 1;
    row.ms += ms;
    byName.set(k.name, row);
  }
  return [...byName.values()].sort((a, b) => b.ms - a.ms);
}
