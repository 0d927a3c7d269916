import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { getDataset, modelConfigFor, type TrainCommandOptions } from '../../../cli/train-command.js';
import { hasFastConvGradients } from '../../../engine/backend/fast-conv-grads.js';
import { probeNodeAdapter, type AdapterInfo } from '../../../engine/backend/node-webgpu.js';
import { backendAdapter, describeBackend, selectBackend } from '../../../engine/backend/select-backend.js';
import { GllNetwork } from '../../../engine/model/network.js';
import { InProcessTrainer } from '../../../engine/train/gll-trainer.js';
import { relError, seededValues } from './conv-reference.js';

// Node's webgpu backend (dawn.node) against the cpu backend. CI runs it on Mesa's
// lavapipe (a software adapter); without dawn.node or a Vulkan driver it is skipped, saying why.

async function adapterOrReason(): Promise<AdapterInfo | string> {
  try {
    return await probeNodeAdapter();
  } catch (err: unknown) {
    return err instanceof Error ? err.message : String(err);
  }
}

const probed = await adapterOrReason();
const adapter = typeof probed === 'string' ? null : probed;
if (typeof probed === 'string') console.warn(`node-webgpu tests skipped: ${probed}`);

type Op = (x: tf.Tensor4D) => tf.Tensor;
const filter = (k: number, ci: number, co: number, seed: number): tf.Tensor4D => tf.tensor4d(seededValues(k * k * ci * co, seed), [k, k, ci, co]);

// The kernels of a training step, each applied to x [2, 8, 8, 4] (model-level parts below).
const OPS: Record<string, Op> = {
  'conv2d 3x3 stride 1 same': (x) => tf.conv2d(x, filter(3, 4, 6, 1), 1, 'same'),
  'conv2d 3x3 stride 2 same': (x) => tf.conv2d(x, filter(3, 4, 6, 2), 2, 'same'),
  'conv2d 1x1 stride 1': (x) => tf.conv2d(x, filter(1, 4, 6, 3), 1, 'valid'),
  'conv2d 1x1 stride 2': (x) => tf.conv2d(x, filter(1, 4, 6, 4), 2, 'valid'),
  'batchNorm4d with moments': (x) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, tf.tensor1d([0, 1, 0, 1]), tf.tensor1d([1, 2, 3, 4]), 1e-5);
  },
  'avgPool 2x2': (x) => tf.avgPool(x, 2, 2, 'valid'),
  'maxPool 3x3 stride 2': (x) => tf.maxPool(x, 3, 2, 'same'),
  'global mean pool and dense head': (x) => tf.matMul(tf.mean(tf.relu(x), [1, 2]) as tf.Tensor2D, tf.tensor2d(seededValues(4 * 10, 5), [4, 10])),
  'softmax cross-entropy': (x) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([1, 7], 'int32'), 10), tf.reshape(tf.slice(x, [0, 0, 0, 0], [2, 1, 5, 2]), [2, 10])),
  'resize bilinear (decoder upsampling)': (x) => tf.image.resizeBilinear(x, [16, 16]),
  'sigmoid binary cross-entropy': (x) => tf.mean(tf.add(tf.mul(0.3, tf.log(tf.add(tf.sigmoid(x), 1e-6))), tf.mul(0.7, tf.log(tf.add(tf.sub(1, tf.sigmoid(x)), 1e-6))))),
};

async function gradOf(backend: 'webgpu' | 'cpu', op: Op): Promise<Float32Array> {
  await selectBackend(backend);
  const g = tf.tidy(() => {
    const x = tf.tensor4d(seededValues(2 * 8 * 8 * 4, 9), [2, 8, 8, 4]);
    const f = (a: tf.Tensor): tf.Tensor => {
      const y = op(a as tf.Tensor4D);
      // A weighted sum, so every output element's gradient path is checked.
      return tf.sum(tf.mul(y, tf.reshape(tf.tensor1d(seededValues(y.size, 5)), y.shape)));
    };
    return tf.grad(f)(x);
  });
  const values = (await g.data()) as Float32Array;
  g.dispose();
  return values;
}

describe.skipIf(adapter === null)('webgpu in Node (dawn.node)', () => {
  it.runIf(adapter?.software === true)('with only a software adapter: not chosen automatically, used and called software when asked for', async () => {
    const lines: string[] = [];
    expect(await selectBackend(undefined, (m) => lines.push(m))).not.toBe('webgpu');
    expect(lines.find((l) => l.startsWith('backend webgpu skipped:'))).toMatch(/software .*--backend webgpu/);
    expect(backendAdapter()).toBeNull();
    expect(await selectBackend('webgpu')).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(describeBackend()).toMatch(/^webgpu \(.*software adapter\)$/);
    expect(backendAdapter()).toContain(adapter!.vendor);
  });

  it('routes the filter gradient through the fast kernel and keeps webgpu\'s own input gradient', async () => {
    await selectBackend('webgpu');
    expect(hasFastConvGradients('webgpu')).toBe(true);
  });

  it.each(Object.keys(OPS))('differentiates %s like the cpu backend', async (name) => {
    const op = OPS[name]!;
    const onGpu = await gradOf('webgpu', op);
    const onCpu = await gradOf('cpu', op);
    expect(relError(onGpu, onCpu)).toBeLessThan(1e-4);
  });

  // The filter gradient is ours on webgpu (an im2col product): checked for every conv form a step uses.
  it.each([
    [3, 1, 'same'],
    [3, 2, 'same'],
    [1, 1, 'valid'],
    [1, 2, 'valid'],
  ] as const)('differentiates the filter of a conv2d of size %i, stride %i, padding %s like the cpu backend', async (k, s, pad) => {
    const dw = async (backend: 'webgpu' | 'cpu'): Promise<Float32Array> => {
      await selectBackend(backend);
      const g = tf.tidy(() => {
        const x = tf.tensor4d(seededValues(2 * 8 * 8 * 4, 9), [2, 8, 8, 4]);
        const f = (w: tf.Tensor): tf.Tensor => {
          const y = tf.conv2d(x, w as tf.Tensor4D, s, pad);
          return tf.sum(tf.mul(y, tf.reshape(tf.tensor1d(seededValues(y.size, 5)), y.shape)));
        };
        return tf.grad(f)(filter(k, 4, 6, 7));
      });
      const values = (await g.data()) as Float32Array;
      g.dispose();
      return values;
    };
    expect(relError(await dw('webgpu'), await dw('cpu'))).toBeLessThan(1e-4);
  });

  it('trains resnet20 K=2 (E context, conv heads, supcon + decoder, cross-entropy) to the cpu backend\'s weights', async () => {
    const opts: TrainCommandOptions = {
      model: 'resnet20', modules: 2, context: 'E', head: '1c2f', loss: 'supcon', decoder: true, partition: 'equal', dataset: 'synthetic',
      limitTrain: 16, limitTest: 8, batchSize: 8, epochs: 1, seed: 3, lr: 0.05, json: false,
    };
    const train = async (backend: 'webgpu' | 'cpu'): Promise<{ weights: Map<string, Float32Array>; tensors: number[] }> => {
      await selectBackend(backend);
      const data = await getDataset(opts, () => undefined);
      const net = new GllNetwork(modelConfigFor(opts, data));
      const trainer = new InProcessTrainer(net, { epochs: 1, batchSize: opts.batchSize, lr: opts.lr, seed: opts.seed });
      const tensors: number[] = [];
      await trainer.fit(data, { onStep: () => tensors.push(tf.memory().numTensors) });
      const weights = new Map<string, Float32Array>();
      for (const p of net.store.params) weights.set(p.name, (await p.variable.data()) as Float32Array);
      trainer.dispose();
      net.dispose();
      return { weights, tensors };
    };
    const gpu = await train('webgpu');
    const cpu = await train('cpu');
    // No tensor leaks from step to step on webgpu.
    expect(new Set(gpu.tensors).size, JSON.stringify(gpu.tensors)).toBe(1);
    expect([...gpu.weights.keys()].sort()).toEqual([...cpu.weights.keys()].sort());
    let worst = 0;
    let worstName = '';
    for (const [name, want] of cpu.weights) {
      const d = relError(gpu.weights.get(name)!, want);
      if (!(d <= worst)) [worst, worstName] = [d, name];
    }
    expect(worst, `largest relative difference in ${worstName}`).toBeLessThan(1e-3);
  }, 600_000);
});
