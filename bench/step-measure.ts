import * as tf from '@tensorflow/tfjs-core';
import type { PreprocessSpec } from '../engine/data/dataset.js';
import { DEFAULT_MODEL_CONFIG } from '../engine/model/config.js';
import { countFlops } from '../engine/model/flops.js';
import { GllNetwork, type ModuleInput } from '../engine/model/network.js';
import { disposePrepared, prepareBatch } from '../engine/train/batches.js';
import { StageRunner } from '../engine/train/stage-runner.js';

// One row of the training-step benchmark, shared by step-bench.ts (CPU
// backends) and gpu-bench.ts (webgpu, in the GPU check bundle).

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

export interface StepSetup {
  modules: number;
  context: string;
  batchSize: number;
  steps: number;
  /** At least batchSize CIFAR-shaped images (32x32x3, uint8) and their labels. */
  images: Uint8Array;
  labels: Uint8Array;
  preprocess: PreprocessSpec;
  /** The backend's matMul rate, to which the effective rate is compared. */
  matMulGflops: number;
}

/** ResNet-32 (the default config) cut into `modules`: one warm-up step, then the mean of `steps` timed ones. */
export async function measureStep(s: StepSetup): Promise<StepRow> {
  const net = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, modules: s.modules, context: s.context });
  const runner = new StageRunner(net, 0, s.modules - 1);
  const batch = prepareBatch(net, s.images.subarray(0, s.batchSize * 32 * 32 * 3), s.labels.subarray(0, s.batchSize), [32, 32, 3], s.preprocess);
  try {
    // Forward FLOPs of one training-mode pass through every module (heads and encoders included).
    const flops = await countFlops(() => {
      let input: ModuleInput = batch.input;
      for (let k = 0; k < s.modules; k++) {
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
    for (let i = 0; i < s.steps; i++) await step(false);
    const stepMs = (performance.now() - t0) / s.steps;
    const effective = (3 * flops) / (stepMs / 1000) / 1e9;
    return {
      modules: s.modules,
      context: s.context,
      batchSize: s.batchSize,
      samplesPerSec: s.batchSize / (stepMs / 1000),
      stepMs,
      forwardGflopPerStep: flops / 1e9,
      effectiveGflops: effective,
      ratioToMatMul: effective / s.matMulGflops,
      peakMiB: Math.max(...runner.peakBytes) / 2 ** 20,
    };
  } finally {
    disposePrepared(batch);
    runner.dispose();
    net.dispose();
  }
}
