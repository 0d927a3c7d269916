import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm } from '../../../engine/model/layers.js';
import { ParamStore } from '../../../engine/model/params.js';
import { useTestBackend } from '../../helpers/backend.js';

interface Step { x: number[]; y: number[]; runMean: number[]; runVar: number[] }
interface Case {
  momentum: number; eps: number; shape: [number, number, number, number];
  gamma: number[]; beta: number[]; steps: Step[];
  evalX: number[]; evalY: number[]; evalShape: [number, number, number, number];
}
// Made once by bench/fidelity/make-bn-fixture.py with torch.nn.BatchNorm2d.
const fixture = JSON.parse(readFileSync(new URL('./fixtures/batch-norm-torch.json', import.meta.url), 'utf8')) as { cases: Case[] };

function close(actual: ArrayLike<number>, expected: number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  const worst = Math.max(...expected.map((e, i) => Math.abs(e - actual[i]!)));
  expect(worst).toBeLessThan(tol);
}

beforeAll(useTestBackend);

describe('BatchNorm matches torch.nn.BatchNorm2d', () => {
  for (const c of fixture.cases) {
    it(`momentum ${c.momentum}, eps ${c.eps}: outputs and running statistics over 3 training batches, then eval`, () => {
      const store = new ParamStore(1);
      const bn = new BatchNorm({ store, module: 0, role: 'backbone', bn: { momentum: c.momentum, eps: c.eps } }, 'bn', 3);
      bn.gamma.assign(tf.tensor1d(c.gamma));
      bn.beta.assign(tf.tensor1d(c.beta));
      for (const s of c.steps) {
        const y = tf.tidy(() => bn.apply(tf.tensor4d(s.x, c.shape), true));
        close(y.dataSync(), s.y, 1e-4);
        y.dispose();
        close(bn.runMean.dataSync(), s.runMean, 1e-5);
        // Unbiased (n / (n - 1)) batch variance goes into the running average, as in PyTorch.
        close(bn.runVar.dataSync(), s.runVar, 1e-4);
      }
      const ye = tf.tidy(() => bn.apply(tf.tensor4d(c.evalX, c.evalShape), false));
      close(ye.dataSync(), c.evalY, 1e-4);
      ye.dispose();
      store.dispose();
    });
  }

  it('uses momentum 0.1 and eps 1e-5 when the owner names none', () => {
    const store = new ParamStore(1);
    const bn = new BatchNorm({ store, module: 0, role: 'backbone' }, 'bn', 3);
    expect(bn.options).toEqual({ momentum: 0.1, eps: 1e-5 });
    store.dispose();
  });
});
