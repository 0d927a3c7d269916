import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../../engine/backend/select-backend.js';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, SGD_STEP } from '../../../engine/backend/fused-kernels.js';
import { BatchNorm } from '../../../engine/model/layers.js';
import { ParamStore } from '../../../engine/model/params.js';
import { Sgd } from '../../../engine/train/sgd.js';
import { nativeSkipReason, relDiff } from './native-helpers.js';

const skip = nativeSkipReason();

type Backend = 'cpu' | 'native';

/** Deterministic values: sin waves scaled by `scale` around `offset`. */
function wave(shape: number[], phase: number, scale = 1, offset = 0): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, (_, i) => offset + scale * Math.sin(i * 0.37 + phase + 0.01 * i * (i % 7))), shape);
}

/** Runs `f` on `backend`; returns its tensors' values and the kernels that ran. */
async function run(backend: Backend, f: () => tf.Tensor[]): Promise<{ values: Float32Array[]; kernels: string[] }> {
  await selectBackend(backend);
  let out: tf.Tensor[] = [];
  const info = await tf.profile(() => {
    out = tf.tidy(f);
    return out;
  });
  const values = out.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(out);
  return { values, kernels: info.kernels.map((k) => k.name) };
}

/** One BN layer in training mode: output, dx, dGamma, dBeta, running mean and variance. */
function batchNormStep(shape: [number, number, number, number], offset: number): tf.Tensor[] {
  const store = new ParamStore(1);
  const bn = new BatchNorm({ store, module: 0, role: 'backbone' }, 'bn', shape[3]);
  bn.gamma.assign(wave([shape[3]], 0.5, 0.5, 1));
  bn.beta.assign(wave([shape[3]], 0.9, 0.3));
  const x = wave(shape, 0.3, 2, offset);
  const weights = wave(shape, 1.1);
  const loss = (a: tf.Tensor): tf.Scalar => tf.sum(tf.mul(bn.apply(a as tf.Tensor4D, true), weights));
  const { value, grads } = tf.variableGrads(() => loss(x), [bn.gamma, bn.beta]);
  const dx = tf.grad(loss)(x);
  const out = [value, dx, grads[bn.gamma.name], grads[bn.beta.name], bn.runMean.clone(), bn.runVar.clone()];
  store.dispose();
  return out;
}

describe.skipIf(skip !== null)('fused native kernels give the numbers of the composed kernels', () => {
  for (const [shape, offset] of [
    [[4, 6, 6, 5], 0],
    [[8, 4, 4, 16], 4],
  ] as Array<[[number, number, number, number], number]>) {
    it(`training batch norm on [${shape.join(', ')}] (mean ${offset}): output, input and parameter gradients, running statistics`, async () => {
      const cpu = await run('cpu', () => batchNormStep(shape, offset));
      const native = await run('native', () => batchNormStep(shape, offset));
      expect(cpu.kernels).not.toContain(BATCH_NORM_TRAIN);
      expect(native.kernels).toContain(BATCH_NORM_TRAIN);
      expect(native.kernels).toContain(BATCH_NORM_TRAIN_GRAD);
      // The fused path runs no stock kernel over the activation for the statistics.
      expect(native.kernels.filter((k) => k === 'Mean')).toHaveLength(0);
      const names = ['loss', 'dx', 'dGamma', 'dBeta', 'running mean', 'running variance'];
      cpu.values.forEach((c, i) => expect(relDiff(native.values[i], c), names[i]).toBeLessThan(2e-5));
    });
  }

  for (const options of [
    { momentum: 0.9, weightDecay: 1e-4, nesterov: true },
    { momentum: 0.9, weightDecay: 0, nesterov: false },
  ]) {
    it(`SGD ${JSON.stringify(options)}: three steps in one kernel per variable equal the composed update exactly`, async () => {
      const steps = (): tf.Tensor[] => {
        const sgd = new Sgd(options);
        const v = tf.variable(wave([3, 3, 4, 8], 0.2), true, 'w');
        for (let s = 0; s < 3; s++) {
          const grad = wave([3, 3, 4, 8], s, 0.1);
          sgd.apply([v], { w: grad }, 0.05);
        }
        const out = [v.clone(), sgd.buffer(v)!.clone()];
        v.dispose();
        sgd.dispose();
        return out;
      };
      const cpu = await run('cpu', steps);
      const native = await run('native', steps);
      expect(cpu.kernels).not.toContain(SGD_STEP);
      expect(native.kernels.filter((k) => k === SGD_STEP)).toHaveLength(3);
      // Same float32 operations in the same order: bit for bit.
      expect(Array.from(native.values[0])).toEqual(Array.from(cpu.values[0]));
      expect(Array.from(native.values[1])).toEqual(Array.from(cpu.values[1]));
    });
  }

  it('Step (the ReLU gradient) keeps NaN and gives alpha at and below zero', async () => {
    const f = (): tf.Tensor[] => {
      const x = tf.tensor1d([NaN, -2, -0, 0, 1e-30, 3]);
      return [tf.step(x), tf.step(x, 0.25), tf.grad((a: tf.Tensor) => tf.sum(tf.relu(a)))(wave([70000], 0.1))];
    };
    const cpu = await run('cpu', f);
    const native = await run('native', f);
    expect(Array.from(native.values[0])).toEqual([NaN, 0, 0, 0, 1, 1]);
    expect(Array.from(native.values[1])).toEqual([NaN, 0.25, 0.25, 0.25, 1, 1]);
    expect(Array.from(native.values[2])).toEqual(Array.from(cpu.values[2]));
  });

  it('a fused kernel given a tensor it cannot take fails, naming itself', async () => {
    await selectBackend('native');
    const x = tf.ones([4, 3]);
    expect(() => tf.engine().runKernel(BATCH_NORM_TRAIN, { x, gamma: tf.ones([3]), beta: tf.zeros([3]) }, { eps: 1e-5 })).toThrow(/ContsupBatchNormTrain needs a float32 NHWC tensor/);
  });
});
