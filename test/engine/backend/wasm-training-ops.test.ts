import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerFastConvGradients } from '../../../engine/backend/fast-conv-grads.js';
import { ensureGradients } from '../../../engine/backend/gradients.js';
import { relError, seededValues } from './conv-reference.js';

type Op = (x: tf.Tensor4D) => tf.Tensor;

const SYM1: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
const filter = (k: number, ci: number, co: number, seed: number): tf.Tensor4D => tf.tensor4d(seededValues(k * k * ci * co, seed), [k, k, ci, co]);
const positive = (x: tf.Tensor): tf.Tensor => tf.add(tf.square(x), 0.5);

// Every op the models differentiate through, each applied to x [2, 6, 6, 4].
const OPS: Record<string, Op> = {
  'conv2d 3x3 stride 2 padded': (x) => tf.conv2d(x, filter(3, 4, 5, 1), 2, SYM1),
  'add, sub and mul with broadcasting': (x) => tf.sub(tf.mul(tf.add(x, tf.tensor1d([1, 2, 3, 4])), x), tf.tensor1d([0.5, 0, 1, 2])),
  relu: (x) => tf.relu(x),
  'mean over axes': (x) => tf.mean(x, [1, 2]),
  sum: (x) => tf.sum(x, 3),
  square: (x) => tf.square(x),
  rsqrt: (x) => tf.rsqrt(positive(x)),
  sqrt: (x) => tf.sqrt(positive(x)),
  div: (x) => tf.div(x, positive(x)),
  neg: (x) => tf.neg(x),
  'matMul after reshape': (x) => tf.matMul(tf.reshape(x, [2, 144]), tf.tensor2d(seededValues(144 * 3, 2), [144, 3])),
  transpose: (x) => tf.mul(tf.transpose(x, [0, 3, 1, 2]), tf.range(0, 6)),
  softmax: (x) => tf.mul(tf.softmax(tf.reshape(x, [24, 12])), tf.range(0, 12)),
  logSoftmax: (x) => tf.mul(tf.logSoftmax(tf.reshape(x, [24, 12])), tf.range(0, 12)),
  exp: (x) => tf.exp(x),
  log: (x) => tf.log(positive(x)),
  sigmoid: (x) => tf.sigmoid(x),
  'max over axes': (x) => tf.max(x, [1, 2]),
  maximum: (x) => tf.maximum(x, 0.1),
  clipByValue: (x) => tf.clipByValue(x, -0.5, 0.5),
  norm: (x) => tf.norm(x),
  concat: (x) => tf.mul(tf.concat([x, tf.square(x)], 3), tf.range(0, 8)),
  slice: (x) => tf.slice(x, [0, 1, 1, 0], [2, 4, 3, 4]),
  pad: (x) => tf.mul(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), tf.range(0, 4)),
  'gather (segment-sum gradient)': (x) => tf.gather(x, tf.tensor1d([0, 2, 2, 3], 'int32'), 3),
  'oneHot as a constant factor': (x) => tf.mul(tf.reshape(x, [72, 4]), tf.oneHot(tf.tile(tf.tensor1d([0, 3, 1, 1, 2, 0, 3, 3, 2], 'int32'), [8]), 4)),
  avgPool: (x) => tf.avgPool(x, 2, 2, 'valid'),
  'batchNorm4d with moments': (x) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.mul(tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, tf.tensor1d([0, 1, 0, 1]), tf.tensor1d([1, 2, 3, 4]), 1e-5), tf.range(0, 4));
  },
};

async function gradOf(backend: 'wasm' | 'cpu', op: Op): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(seededValues(2 * 6 * 6 * 4, 9), [2, 6, 6, 4]);
    const f = (a: tf.Tensor): tf.Tensor => {
      const y = op(a as tf.Tensor4D);
      // A weighted sum, so every output element's gradient path is checked.
      return tf.sum(tf.mul(y, tf.reshape(tf.tensor1d(seededValues(y.size, 5)), y.shape)));
    };
    return tf.grad(f)(x).dataSync() as Float32Array;
  });
}

beforeAll(async () => {
  await ensureGradients();
  registerFastConvGradients('wasm');
  registerFastConvGradients('cpu');
});

describe('gradients on wasm', () => {
  it.each(Object.keys(OPS))('computes the gradient of %s and matches the cpu backend', async (name) => {
    const op = OPS[name];
    const onWasm = await gradOf('wasm', op);
    const onCpu = await gradOf('cpu', op);
    expect(relError(onWasm, onCpu)).toBeLessThan(1e-4);
  });

  it('sums segments like the cpu backend, dropping out-of-range ids', async () => {
    const sums = async (backend: 'wasm' | 'cpu', ids: number[]): Promise<Float32Array> => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor2d(seededValues(6 * 3, 4), [6, 3]);
        return tf.unsortedSegmentSum(x, tf.tensor1d(ids, 'int32'), 4).dataSync() as Float32Array;
      });
    };
    for (const ids of [[0, 2, 2, 3, 0, 1], [0, -1, 2, 7, 3, 3]]) {
      expect(relError(await sums('wasm', ids), await sums('cpu', ids))).toBeLessThan(1e-6);
    }
  });

  it('trains a residual block end to end with tf.variableGrads', async () => {
    const run = async (backend: 'wasm' | 'cpu'): Promise<number[][]> => {
      await tf.setBackend(backend);
      const vars = [filter(3, 3, 8, 1), filter(3, 8, 16, 2), filter(1, 8, 16, 3), tf.tensor2d(seededValues(16 * 10, 4), [16, 10])]
        .map((t, i) => tf.variable(t, true, `v${backend}${i}`));
      const x = tf.tensor4d(seededValues(3 * 7 * 7 * 3, 6), [3, 7, 7, 3]);
      const labels = tf.tensor1d([1, 4, 9], 'int32');
      const { value, grads } = tf.variableGrads(() => {
        const h = tf.relu(tf.conv2d(x, vars[0] as tf.Variable<tf.Rank.R4>, 1, SYM1));
        const { mean, variance } = tf.moments(h, [0, 1, 2]);
        const n = tf.batchNorm4d(h, mean as tf.Tensor1D, variance as tf.Tensor1D, tf.zeros<tf.Rank.R1>([8]), tf.ones<tf.Rank.R1>([8]), 1e-5);
        const main = tf.conv2d(n, vars[1] as tf.Variable<tf.Rank.R4>, 2, SYM1);
        const skip = tf.conv2d(n, vars[2] as tf.Variable<tf.Rank.R4>, 2, 'valid');
        const pooled = tf.mean(tf.relu(tf.add(main, skip)), [1, 2]) as tf.Tensor2D;
        const logits = tf.matMul(pooled, vars[3] as tf.Variable<tf.Rank.R2>);
        return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, 10), tf.logSoftmax(logits)), 1))) as tf.Scalar;
      }, vars);
      const out = [[value.dataSync()[0]], ...vars.map((v) => Array.from(grads[v.name].dataSync()))];
      tf.dispose([value, x, labels, ...Object.values(grads), ...vars]);
      return out;
    };
    const wasm = await run('wasm');
    const cpu = await run('cpu');
    wasm.forEach((g, i) => expect(relError(g, cpu[i])).toBeLessThan(1e-4));
  });
});
