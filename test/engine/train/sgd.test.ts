import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Sgd } from '../../../engine/train/sgd.js';
import { useTestBackend } from '../../helpers/backend.js';

interface Case { momentum: number; weightDecay: number; nesterov: boolean; init: number[]; grads: number[][]; lrs: number[]; after: number[][] }
// Made once by bench/fidelity/make-sgd-fixture.py with torch.optim.SGD.
const fixture = JSON.parse(readFileSync(new URL('./fixtures/sgd-torch.json', import.meta.url), 'utf8')) as { cases: Case[] };

beforeAll(useTestBackend);

describe('Sgd matches torch.optim.SGD', () => {
  for (const c of fixture.cases) {
    it(`momentum ${c.momentum}, weight decay ${c.weightDecay}, nesterov ${c.nesterov}: the weights after each of 4 steps`, () => {
      const v = tf.variable(tf.tensor1d(c.init), true, `sgd-${c.momentum}-${c.weightDecay}-${c.nesterov}`);
      const sgd = new Sgd({ momentum: c.momentum, weightDecay: c.weightDecay, nesterov: c.nesterov });
      c.grads.forEach((g, s) => {
        const grad = tf.tensor1d(g);
        sgd.apply([v], { [v.name]: grad }, c.lrs[s]!);
        grad.dispose();
        const got = v.dataSync();
        c.after[s]!.forEach((e, i) => expect(Math.abs(got[i]! - e), `step ${s} [${i}]`).toBeLessThan(1e-6));
      });
      sgd.dispose();
      v.dispose();
    });
  }
});
