import * as tf from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../../../engine/backend/native/addon.js';
import type { NodeBackendName } from '../../../engine/backend/backend-names.js';
import { selectBackend } from '../../../engine/backend/select-backend.js';
import { GllNetwork } from '../../../engine/model/network.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../../engine/model/config.js';
import { generateSynthetic } from '../../../engine/data/synthetic.js';
import { disposePrepared, prepareBatch } from '../../../engine/train/batches.js';
import { StageRunner } from '../../../engine/train/stage-runner.js';

/** Why the native tests cannot run here, or null when the addon loads. Printed once per file. */
export function nativeSkipReason(): string | null {
  try {
    loadNativeAddon();
    return null;
  } catch (err: unknown) {
    const reason = err instanceof Error ? err.message : String(err);
    console.log(`native backend tests skipped: ${reason}`);
    return reason;
  }
}

/** Largest |a - b| relative to the largest |b| (absolute below 1). */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  let m = 1;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

export interface TrainedState {
  losses: number[][];
  weights: Map<string, Float32Array>;
}

/**
 * Builds a network on `backend` (weights are seeded, so every backend starts equal),
 * trains it `steps` steps on one synthetic batch and returns every module's loss per
 * step and every parameter (BN running statistics included) afterwards.
 */
export async function trainOn(backend: NodeBackendName, cfg: Partial<ModelConfig>, steps: number, batchSize: number): Promise<TrainedState> {
  await selectBackend(backend);
  const config = { ...DEFAULT_MODEL_CONFIG, ...cfg };
  const size = 32; // the synthetic set's image size
  const data = generateSynthetic({ seed: 3, trainCount: batchSize, testCount: 2 });
  const net = new GllNetwork(config);
  const runner = new StageRunner(net, 0, net.moduleCount - 1);
  const batch = prepareBatch(net, data.train.images, data.train.labels, [size, size, config.inChannels], data.preprocess);
  const losses: number[][] = [];
  for (let s = 0; s < steps; s++) {
    const { output, metrics } = await runner.train(batch.input, batch.labels, batch.target, 0.05);
    losses.push(metrics.map((m) => m.loss));
    const reused = new Set<tf.Tensor | null>([batch.input.h, batch.input.image, ...batch.input.history]);
    tf.dispose([output.h, ...output.history].filter((t) => !reused.has(t)));
  }
  const weights = new Map<string, Float32Array>();
  for (let k = 0; k < net.moduleCount; k++) for (const p of net.moduleParams(k)) weights.set(p.name, p.variable.dataSync() as Float32Array);
  disposePrepared(batch);
  runner.dispose();
  net.dispose();
  return { losses, weights };
}
