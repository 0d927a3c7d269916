import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSynthetic } from '../../../engine/data/synthetic.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../../engine/model/config.js';
import { GllNetwork } from '../../../engine/model/network.js';
import { disposePrepared, prepareBatch } from '../../../engine/train/batches.js';
import { combineStages } from '../../../engine/train/checkpoint-format.js';
import { loadModel, loadStage, saveModel, saveStage } from '../../../engine/train/checkpoint.js';
import { StageRunner, disposeStageTensors } from '../../../engine/train/stage-runner.js';
import { useTestBackend } from '../../helpers/backend.js';

beforeAll(useTestBackend);
const cfg: ModelConfig = { ...DEFAULT_MODEL_CONFIG, model: 'resnet20', modules: 2, context: 'E', inputSize: 16 };
const data = generateSynthetic({ seed: 2, trainCount: 8, testCount: 2 });
// Downscale the synthetic 32x32 images to 16x16 by taking every other pixel: small and fast.
const images = new Uint8Array(8 * 16 * 16 * 3).map((_, i) => {
  const n = Math.floor(i / 768), r = i % 768, y = Math.floor(r / 48), x = Math.floor((r % 48) / 3), c = r % 3;
  return data.train.images[n * 3072 + (2 * y) * 96 + (2 * x) * 3 + c];
});

async function trained(): Promise<{ net: GllNetwork; runner: StageRunner }> {
  const net = new GllNetwork(cfg);
  const runner = new StageRunner(net, 0, 1);
  const b = prepareBatch(net, images, data.train.labels.slice(0, 8), [16, 16, 3], data.preprocess);
  const { output } = await runner.train(b.input, b.labels, b.target, 0.1);
  disposeStageTensors(output);
  disposePrepared(b);
  return { net, runner };
}

const values = (net: GllNetwork): Float32Array[] => net.store.params.map((p) => p.variable.dataSync() as Float32Array);

describe('checkpoints', () => {
  it('a stage checkpoint restores weights, BN state and momentum exactly', async () => {
    const a = await trained();
    const bytes = saveStage(a.runner, 7);
    const net = new GllNetwork(cfg);
    const runner = new StageRunner(net, 0, 1);
    expect(loadStage(runner, bytes)).toBe(7);
    values(a.net).forEach((v, i) => expect(values(net)[i]).toEqual(v));
    const p = net.trainableVariables(1)[0];
    expect(runner.trainers[1].optimizer.buffer(p)!.dataSync()).toEqual(a.runner.trainers[1].optimizer.buffer(a.net.trainableVariables(1)[0])!.dataSync());
    // Loading again replaces state in place: no tensor is left behind.
    const count = tf.memory().numTensors;
    loadStage(runner, bytes);
    expect(tf.memory().numTensors).toBe(count);
    [a.net, net].forEach((n) => n.dispose());
  });

  it('a model file built from stage checkpoints loads back into the same network', async () => {
    const a = await trained();
    const model = combineStages(cfg, [saveStage(a.runner, 1)]);
    const net = loadModel(model);
    values(a.net).forEach((v, i) => expect(values(net)[i]).toEqual(v));
    expect(loadModel(saveModel(a.net)).paramCounts()).toEqual(a.net.paramCounts());
    [a.net, net].forEach((n) => n.dispose());
  });

  it('rejects a truncated file, a file of another kind, and a checkpoint for other modules', async () => {
    const a = await trained();
    const bytes = saveStage(a.runner, 1);
    const other = new StageRunner(a.net, 1, 1);
    expect(() => loadStage(a.runner, bytes.slice(0, bytes.length - 100))).toThrow(/contsup-stage|truncated|corrupt/);
    expect(() => loadModel(bytes)).toThrow(/not a contsup-model file/);
    expect(() => loadStage(other, bytes)).toThrow(/modules 0..1, this stage runs 1..1/);
    expect(() => combineStages({ ...cfg, modules: 3 }, [bytes])).toThrow(/no checkpoint covers module\(s\) 2/);
    a.net.dispose();
  });
});
