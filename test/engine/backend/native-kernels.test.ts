import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../engine/backend/select-backend.js';
import { HEAD_NAMES } from '../../../protocol/names.js';
import { nativeSkipReason, relDiff, trainOn } from './native-helpers.js';

const skip = nativeSkipReason();

type Backend = 'cpu' | 'native';

/** Runs `f` on a backend and returns the values of every tensor it returns. */
async function valuesOn(backend: Backend, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await selectBackend(backend);
  const out = tf.tidy(f);
  const values = out.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(out);
  return values;
}

async function expectSame(f: () => tf.Tensor[], tol = 1e-5): Promise<void> {
  const [cpu, native] = [await valuesOn('cpu', f), await valuesOn('native', f)];
  expect(native).toHaveLength(cpu.length);
  cpu.forEach((c, i) => expect(relDiff(native[i], c), `output ${i}`).toBeLessThan(tol));
}

/** Deterministic values in [-1, 1]. */
function wave(shape: number[], phase: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase)), shape);
}

type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
const SYMMETRIC: Pad = [[0, 0], [1, 1], [1, 1], [0, 0]];

describe.skipIf(skip !== null)('native kernels equal the cpu backend', () => {
  beforeAll(async () => {
    await selectBackend('native');
  });

  const convCases: Array<{ k: number; stride: number; pad: Pad }> = [
    { k: 3, stride: 1, pad: SYMMETRIC },
    { k: 3, stride: 2, pad: SYMMETRIC },
    { k: 3, stride: 1, pad: 'same' },
    { k: 3, stride: 2, pad: 'same' }, // asymmetric: tfjs pads only bottom/right
    { k: 3, stride: 2, pad: 'valid' },
    { k: 1, stride: 1, pad: 'valid' },
    { k: 1, stride: 2, pad: 'valid' },
  ];
  for (const c of convCases) {
    it(`conv2d ${c.k}x${c.k} stride ${c.stride} pad ${JSON.stringify(c.pad)}: values and both gradients`, async () => {
      await expectSame(() => {
        const x = wave([2, 6, 6, 3], 0.1);
        const w = wave([c.k, c.k, 3, 4], 0.7);
        const f = (xs: tf.Tensor, ws: tf.Tensor): tf.Tensor => tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, c.stride, c.pad);
        const y = f(x, w);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), wave(y.shape, 2))))([x, w]);
        return [y, dx, dw];
      });
    });
  }

  it('batch norm in training mode (contsup closed-form gradient) and inference mode', async () => {
    const { BatchNorm } = await import('../../../engine/model/layers.js');
    const { ParamStore } = await import('../../../engine/model/params.js');
    for (const training of [true, false]) {
      await expectSame(() => {
        const store = new ParamStore(1);
        const bn = new BatchNorm({ store, module: 0, role: 'backbone' }, 'bn', 4);
        const x = wave([3, 4, 4, 4], 0.3);
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(bn.apply(x as tf.Tensor4D, training), wave([3, 4, 4, 4], 1))), [bn.gamma, bn.beta]);
        const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(bn.apply(a as tf.Tensor4D, training), wave([3, 4, 4, 4], 1))))(x);
        const out = [value, dx, grads[bn.gamma.name], grads[bn.beta.name], bn.runMean.clone(), bn.runVar.clone()];
        store.dispose();
        return out;
      });
    }
  });

  it('average and max pooling with their gradients', async () => {
    await expectSame(() => {
      const x = wave([2, 4, 4, 3], 0.2);
      const avg = (a: tf.Tensor): tf.Tensor => tf.avgPool(a as tf.Tensor4D, 2, 2, 'valid');
      const max = (a: tf.Tensor): tf.Tensor => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid');
      return [avg(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(avg(a), wave([2, 2, 2, 3], 1))))(x), max(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(max(a), wave([2, 2, 2, 3], 1))))(x)];
    });
  });

  it('bilinear resize and adaptive pooling of the encoders and decoder, with gradients', async () => {
    const { adaptiveAvgPool, resizeBilinear } = await import('../../../engine/model/layers.js');
    await expectSame(() => {
      const x = wave([2, 5, 5, 3], 0.4);
      const up = (a: tf.Tensor): tf.Tensor => resizeBilinear(a as tf.Tensor4D, 8, 8);
      const down = (a: tf.Tensor): tf.Tensor => adaptiveAvgPool(a as tf.Tensor4D, 3);
      return [up(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(up(a), wave([2, 8, 8, 3], 1))))(x), down(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(down(a), wave([2, 3, 3, 3], 1))))(x)];
    });
  });

  it('cross-entropy, supervised contrastive and binary cross-entropy losses with gradients', async () => {
    const { binaryCrossEntropy, crossEntropy, supervisedContrastive } = await import('../../../engine/model/losses.js');
    await expectSame(() => {
      const labels = tf.tensor1d([0, 2, 2, 1, 0, 3], 'int32');
      const logits = wave([6, 4], 0.5);
      const target = tf.sigmoid(wave([6, 4], 2));
      return [
        crossEntropy(logits as tf.Tensor2D, labels),
        tf.grad((a: tf.Tensor) => crossEntropy(a as tf.Tensor2D, labels))(logits),
        supervisedContrastive(logits as tf.Tensor2D, labels, 4),
        tf.grad((a: tf.Tensor) => supervisedContrastive(a as tf.Tensor2D, labels, 4))(logits),
        binaryCrossEntropy(tf.sigmoid(logits), target),
        tf.grad((a: tf.Tensor) => binaryCrossEntropy(tf.sigmoid(a), target))(logits),
      ];
    }, 1e-4);
  });

  it('max, min, sum and mean over one axis (keepDims or not), and cross-entropy of logits hundreds apart', async () => {
    const { crossEntropy } = await import('../../../engine/model/losses.js');
    await expectSame(() => {
      // Rows with very different maxima: a max over the whole tensor shifts a row's exp() to 0 and its log to -inf.
      const logits = tf.mul(wave([6, 5], 0.3), tf.tensor2d([400, 1, 300, 2, 250, 3], [6, 1]));
      const labels = tf.tensor1d([0, 2, 4, 1, 3, 0], 'int32');
      return [
        tf.max(logits, -1, true), tf.max(logits, 0), tf.min(logits, 1, true), tf.sum(logits, -1), tf.mean(logits, 0, true),
        tf.logSoftmax(logits), crossEntropy(logits as tf.Tensor2D, labels),
      ];
    }, 1e-5);
  });

  for (const head of HEAD_NAMES) {
    it(`head ${head}: one training step (K = 2, E) gives the same losses and weights`, async () => {
      const cfg = { model: 'resnet20' as const, modules: 2, context: 'E', head };
      const cpu = await trainOn('cpu', cfg, 1, 4);
      const native = await trainOn('native', cfg, 1, 4);
      expect(relDiff(native.losses.flat(), cpu.losses.flat())).toBeLessThan(1e-4);
      for (const [name, w] of cpu.weights) expect(relDiff(native.weights.get(name)!, w), name).toBeLessThan(1e-4);
    });
  }

  for (const [loss, context] of [['ce', 'R2E'], ['supcon', 'R1']] as const) {
    it(`decoder with ${loss} and context ${context}: one training step gives the same losses and weights`, async () => {
      const cfg = { model: 'resnet20' as const, modules: 3, context, loss, decoder: true };
      const cpu = await trainOn('cpu', cfg, 1, 4);
      const native = await trainOn('native', cfg, 1, 4);
      expect(relDiff(native.losses.flat(), cpu.losses.flat())).toBeLessThan(1e-4);
      for (const [name, w] of cpu.weights) expect(relDiff(native.weights.get(name)!, w), name).toBeLessThan(1e-4);
    });
  }

  it('a kernel it lacks fails loudly, naming the kernel and the op that asked', async () => {
    await selectBackend('native');
    expect(() => tf.cumsum(tf.ones([3]))).toThrow(/Kernel 'Cumsum' not registered for backend 'native' \(asked for by op 'cumsum'\)/);
  });
});
