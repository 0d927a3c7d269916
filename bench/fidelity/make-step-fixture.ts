/**
 * Writes test/engine/train/fixtures/release-steps.json: the per-module losses
 * of the authors' release over 5 SGD steps (and one eval pass after them),
 * starting from contsup's seeded initial weights on contsup's synthetic
 * batches, computed in float64. The test replays the same steps in contsup and compares.
 *
 * Run once: `npx tsc -p tsconfig.json && node dist/bench/fidelity/make-step-fixture.js`
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../../engine/backend/select-backend.js';
import { generateSynthetic } from '../../engine/data/synthetic.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../engine/model/config.js';
import { GllNetwork } from '../../engine/model/network.js';
import { disposePrepared, prepareBatch } from '../../engine/train/batches.js';
import { ensureRelease, runRelease } from './release-checkout.js';
import { exportReleaseWeights, writeTensors } from './release-weights.js';

export const STEP_FIXTURE = {
  data: { seed: 11, trainCount: 80, testCount: 0 },
  batchSize: 16,
  lrs: [0.02, 0.02, 0.01, 0.01, 0.005],
  cases: [
    { modules: 4, context: 'R1E' },
    { modules: 16, context: 'R0' },
    { modules: 2, context: 'R1' },
  ],
};

async function main(): Promise<void> {
  await selectBackend('cpu');
  const release = ensureRelease();
  const work = join('.fidelity', 'fixture');
  mkdirSync(work, { recursive: true });
  const data = generateSynthetic(STEP_FIXTURE.data);
  const px = 32 * 32 * 3;
  const out: Array<{ config: ModelConfig; losses: number[][]; evalLoss: number }> = [];
  for (const c of STEP_FIXTURE.cases) {
    const config: ModelConfig = { ...DEFAULT_MODEL_CONFIG, ...c, seed: 5 };
    const net = new GllNetwork(config);
    const prefix = join(work, `w-${c.modules}-${c.context}`);
    exportReleaseWeights(net, prefix);
    const inputs: Array<{ name: string; shape: number[]; data: Float32Array | Uint8Array }> = [];
    STEP_FIXTURE.lrs.forEach((_, s) => {
      const b = STEP_FIXTURE.batchSize;
      const labels = data.train.labels.slice(s * b, (s + 1) * b);
      const batch = prepareBatch(net, data.train.images.slice(s * b * px, (s + 1) * b * px), labels, [32, 32, 3], data.preprocess);
      const nchw = tf.tidy(() => tf.transpose(batch.input.h, [0, 3, 1, 2]));
      inputs.push({ name: `x${s}`, shape: nchw.shape, data: nchw.dataSync() as Float32Array }, { name: `y${s}`, shape: [b], data: labels });
      nchw.dispose();
      disposePrepared(batch);
    });
    writeTensors(join(work, 'inputs'), inputs);
    const job = {
      release, mode: 'steps', model: config.model, modules: c.modules, context: c.context, head: config.head,
      classes: 10, imageSize: 32, batchSize: STEP_FIXTURE.batchSize, momentum: 0.9, weightDecay: 1e-4, nesterov: true,
      bnMomentum: 0.1, bnEps: 1e-5, weights: prefix,
      // float64: torch's float32 CPU gradients of the deeper modules are off by ~1e-3
      // relative (contsup's float32 ones by ~1e-5); the fixture is the exact reference.
      double: true, inputs: join(work, 'inputs'), lrs: STEP_FIXTURE.lrs, out: join(work, 'out.json'),
    };
    writeFileSync(join(work, 'job.json'), JSON.stringify(job));
    await runRelease(join(work, 'job.json'), (l) => process.stderr.write(`${l}\n`));
    const r = JSON.parse(readFileSync(job.out, 'utf8')) as { losses: number[][]; evalLoss: number; unloaded: string[] };
    process.stderr.write(`K=${c.modules} ${c.context}: ${r.unloaded.length} release parameters unused by contsup's build (decoders off, encoders the mode never uses)\n`);
    out.push({ config, losses: r.losses, evalLoss: r.evalLoss });
    net.dispose();
  }
  const file = 'test/engine/train/fixtures/release-steps.json';
  mkdirSync('test/engine/train/fixtures', { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...STEP_FIXTURE, runs: out }, null, 1)}\n`);
  process.stderr.write(`wrote ${file}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
