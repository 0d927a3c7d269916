import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countFlops } from '../../../engine/model/flops.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../../engine/model/config.js';
import { moduleCosts } from '../../../engine/model/cost.js';
import { GllNetwork, type ModuleInput } from '../../../engine/model/network.js';
import { shapeContract } from '../../../engine/model/shape-contract.js';
import { useTestBackend } from '../../helpers/backend.js';

const nets: GllNetwork[] = [];
beforeAll(useTestBackend);
afterAll(() => nets.forEach((n) => n.dispose()));

async function measured(n: GllNetwork, k: number): Promise<number> {
  const x = tf.randomNormal([1, n.config.inputSize, n.config.inputSize, n.config.inChannels]) as tf.Tensor4D;
  let input: ModuleInput = { h: x, image: x, history: [] };
  let flops = 0;
  for (let j = 0; j <= k; j++) {
    const cur = input;
    const f = await countFlops(() => void n.forward(j, cur, true));
    if (j === k) flops = f;
    const out = n.forward(j, cur, false);
    input = { h: out.features, image: x, history: [...cur.history, out.combined].slice(-Math.max(1, n.historyLength)) };
  }
  return flops;
}

describe('analytic module cost', () => {
  for (const over of [
    { modules: 4, context: 'R1E', decoder: true },
    { modules: 16, context: 'R2', head: '2c2f' as const },
    { modules: 1, context: 'R0' },
  ] satisfies Array<Partial<ModelConfig>>) {
    it(`forward FLOPs equal the profiled conv + matMul FLOPs (${JSON.stringify(over)})`, async () => {
      const n = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, ...over });
      nets.push(n);
      const costs = moduleCosts(shapeContract(n.config));
      for (const k of [0, n.moduleCount - 1, Math.floor(n.moduleCount / 2)]) {
        const m = await measured(n, k);
        expect(Math.abs(costs[k].forwardFlops - m) / m, `module ${k}`).toBeLessThan(0.01);
      }
    });
  }

  it('ResNet-32 end to end is about 0.14 GFLOP per 32x32 image', () => {
    const n = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, modules: 1, context: 'R0' });
    nets.push(n);
    expect(moduleCosts(shapeContract(n.config))[0].forwardFlops / 1e9).toBeCloseTo(0.139, 2);
  });

});
