import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSynthetic } from '../../../engine/data/synthetic.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../../engine/model/config.js';
import { GllNetwork } from '../../../engine/model/network.js';
import { prepareBatch, disposePrepared } from '../../../engine/train/batches.js';
import { ModuleTrainer } from '../../../engine/train/module-trainer.js';
import { StageRunner, disposeStageTensors } from '../../../engine/train/stage-runner.js';
import { useTestBackend } from '../../helpers/backend.js';

const data = generateSynthetic({ seed: 3, trainCount: 64, testCount: 16 });
const nets: GllNetwork[] = [];
function net(over: Partial<ModelConfig>): GllNetwork {
  const n = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, ...over });
  nets.push(n);
  return n;
}
function batch(n: GllNetwork, size = 8) {
  const px = 32 * 32 * 3;
  return prepareBatch(n, data.train.images.slice(0, size * px), data.train.labels.slice(0, size), [32, 32, 3], data.preprocess);
}
function snapshot(n: GllNetwork): Map<string, Float32Array> {
  return new Map(n.store.params.map((p) => [p.name, p.variable.dataSync().slice() as Float32Array]));
}

beforeAll(useTestBackend);
afterAll(() => nets.forEach((n) => n.dispose()));

describe('gradient isolation', () => {
  it('a step of module k changes only module k: its blocks, head, decoder and the context encoders in front of it', async () => {
    const n = net({ modules: 4, context: 'R1E', decoder: true });
    const b = batch(n);
    // Feed module 2 real upstream tensors (from modules 0 and 1 in eval mode).
    const runner = new StageRunner(n, 0, 1);
    const { output } = await runner.evaluate(b.input, b.labels, b.target);
    const before = snapshot(n);
    const trainer = new ModuleTrainer(n, 2);
    const r = trainer.step(output, b.labels, b.target, 0.1);
    const after = snapshot(n);
    const changed = n.store.params.filter((p) => {
      const a = before.get(p.name)!;
      const c = after.get(p.name)!;
      return a.some((v, i) => v !== c[i]);
    });
    expect(changed.length).toBeGreaterThan(0);
    for (const p of changed) expect(p.module, `${p.name} changed`).toBe(2);
    // Every trained part of module 2 moved, including its context encoders (E and R1) and decoder.
    for (const prefix of ['s', 'm2/head', 'm2/ctx/e', 'm2/ctx/r1', 'm2/dec']) {
      expect(changed.some((p) => p.name.startsWith(prefix)), prefix).toBe(true);
    }
    tf.dispose([r.features, r.combined]);
    disposeStageTensors(output);
    disposePrepared(b);
    trainer.dispose();
    runner.dispose();
  });
});

describe('memory', () => {
  it('does not leak tensors across training steps', async () => {
    const n = net({ modules: 4, context: 'R1E', decoder: true });
    const runner = new StageRunner(n, 0, 3);
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const b = batch(n, 4);
      const { output } = await runner.train(b.input, b.labels, b.target, 0.05, i === 1);
      disposeStageTensors(output);
      disposePrepared(b);
      counts.push(tf.memory().numTensors);
    }
    // Step 1 creates the momentum buffers; from then on the count is flat.
    expect(counts[3]).toBe(counts[1]);
    expect(counts[2]).toBe(counts[1]);
    runner.dispose();
  });

  it('the largest module at K = 16 peaks far below the whole network at K = 1 (ResNet-32)', async () => {
    const peak = async (modules: number): Promise<number> => {
      const n = net({ modules, context: 'R0' });
      const runner = new StageRunner(n, 0, modules - 1);
      const b = batch(n, 16);
      const { output } = await runner.train(b.input, b.labels, b.target, 0.05, true);
      disposeStageTensors(output);
      disposePrepared(b);
      runner.dispose();
      return Math.max(...runner.peakBytes);
    };
    const e2e = await peak(1);
    const k16 = await peak(16);
    expect(k16).toBeLessThan(e2e * 0.35);
  });
});
