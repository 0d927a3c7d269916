import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../../engine/model/config.js';
import { GllNetwork, type ModuleInput } from '../../../engine/model/network.js';
import { StageRunner, disposeStageTensors } from '../../../engine/train/stage-runner.js';
import { useTestBackend } from '../../helpers/backend.js';

const nets: GllNetwork[] = [];
function net(over: Partial<ModelConfig>): GllNetwork {
  const n = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, ...over });
  nets.push(n);
  return n;
}
const image = (b = 2, size = 32, c = 3): tf.Tensor4D => tf.randomNormal([b, size, size, c], 0, 1, 'float32', 7) as tf.Tensor4D;

beforeAll(useTestBackend);
afterAll(() => nets.forEach((n) => n.dispose()));

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('module shapes for every context mode', () => {
  for (const context of ['R0', 'E', 'R1', 'R1E', 'R2', 'R2E']) {
    it(`${context}: every module's output matches its declared shape at K = 1, 2, 4, 8, 16`, () => {
      for (const modules of [1, 2, 4, 8, 16]) {
        const n = net({ modules, context });
        tf.tidy(() => {
          // Forward module by module and check each boundary's shape.
          const x = image();
          let input: ModuleInput = { h: x, image: x, history: [] };
          for (let k = 0; k < modules; k++) {
            const out = n.forward(k, input, false);
            expect(out.combined.shape.slice(1), `K=${modules} module ${k} input`).toEqual(n.inputShape(k));
            expect(out.features.shape.slice(1), `K=${modules} module ${k} output`).toEqual(n.outputShape(k));
            expect(out.prediction.shape).toEqual([2, 10]);
            input = { h: out.features, image: x, history: [...input.history, out.combined].slice(-Math.max(1, n.historyLength)) };
          }
        });
      }
    });
  }

  it('works with 1-channel 28x28 input (Fashion-MNIST shape) in RnE mode', () => {
    const n = net({ modules: 16, context: 'R2E', inChannels: 1, inputSize: 28 });
    tf.tidy(() => {
      const x = image(2, 28, 1);
      let input: ModuleInput = { h: x, image: x, history: [] };
      for (let k = 0; k < 16; k++) {
        const out = n.forward(k, input, false);
        expect(out.features.shape.slice(1)).toEqual(n.outputShape(k));
        input = { h: out.features, image: x, history: [...input.history, out.combined].slice(-2) };
      }
      expect(n.outputShape(15)).toEqual([7, 7, 64]);
    });
  });
});

describe('what each context mode adds at a cut', () => {
  it('R0 adds nothing: module input is exactly the previous output', () => {
    const n = net({ modules: 4, context: 'R0' });
    tf.tidy(() => {
      const h = tf.randomNormal([2, ...n.inputShape(1)]) as tf.Tensor4D;
      expect(n.contextSum(1, { h, image: null, history: [] }, false)).toBeNull();
      const out = n.forward(1, { h, image: null, history: [] }, false);
      expect(out.combined).toBe(h);
    });
  });

  it('E adds E(x): the added term depends on the image and nothing else', () => {
    const n = net({ modules: 4, context: 'E' });
    tf.tidy(() => {
      const h = tf.randomNormal([2, ...n.inputShape(2)]) as tf.Tensor4D;
      const x1 = image();
      const x2 = tf.add(x1, 1) as tf.Tensor4D;
      const ctx1 = n.contextSum(2, { h, image: x1, history: [] }, false)!;
      const other = n.contextSum(2, { h: tf.zerosLike(h), image: x1, history: [tf.zerosLike(x1)] }, false)!;
      expect(maxAbsDiff(ctx1, other)).toBe(0);
      expect(maxAbsDiff(ctx1, n.contextSum(2, { h, image: x2, history: [] }, false)!)).toBeGreaterThan(1e-3);
      const out = n.forward(2, { h, image: x1, history: [] }, false);
      expect(maxAbsDiff(out.combined, tf.add(h, ctx1))).toBeLessThan(1e-6);
    });
  });

  it('E needs the image and says so', () => {
    const n = net({ modules: 2, context: 'E' });
    tf.tidy(() => {
      const h = tf.zeros([2, ...n.inputShape(1)]) as tf.Tensor4D;
      expect(() => n.forward(1, { h, image: null, history: [] }, false)).toThrow(/needs the image/);
    });
  });

  it('R1 adds an encoding of the previous module input only (the image is not an E source)', () => {
    const n = net({ modules: 4, context: 'R1' });
    tf.tidy(() => {
      const h = tf.randomNormal([2, ...n.inputShape(2)]) as tf.Tensor4D;
      const c1 = tf.randomNormal([2, ...n.inputShape(1)]) as tf.Tensor4D;
      const a = n.contextSum(2, { h, image: image(), history: [c1] }, false)!;
      const b = n.contextSum(2, { h, image: null, history: [tf.randomNormal(c1.shape), c1] }, false)!;
      expect(maxAbsDiff(a, b)).toBe(0); // only the most recent entry counts for R1
      expect(maxAbsDiff(a, n.contextSum(2, { h, image: null, history: [tf.add(c1, 1) as tf.Tensor4D] }, false)!)).toBeGreaterThan(1e-3);
    });
  });

  it('R1 forwards the previous boundary\'s combined feature one boundary further', async () => {
    const n = net({ modules: 4, context: 'R1' });
    const x = image();
    const runner = new StageRunner(n, 0, 1);
    const labels = tf.tensor1d([1, 2], 'int32');
    const { output } = await runner.evaluate({ h: x, image: null, history: [] }, labels, null);
    // By hand: c_1 = h_0 + R(c_0) with c_0 = x; the stage must hand c_1 on as the R1 source.
    tf.tidy(() => {
      const o0 = n.forward(0, { h: x, image: null, history: [] }, false);
      const o1 = n.forward(1, { h: o0.features, image: null, history: [x] }, false);
      expect(output.history).toHaveLength(1);
      expect(maxAbsDiff(output.history[0], o1.combined)).toBeLessThan(1e-6);
      expect(maxAbsDiff(output.h, o1.features)).toBeLessThan(1e-6);
    });
    disposeStageTensors(output);
    tf.dispose([x, labels]);
    runner.dispose();
  });

  it('R1E skips the R encoder whose source would be the image', () => {
    const n = net({ modules: 4, context: 'R1E' });
    const names = n.store.params.map((p) => p.name);
    expect(names.some((s) => s.startsWith('m1/ctx/r1'))).toBe(false);
    expect(names.some((s) => s.startsWith('m1/ctx/e'))).toBe(true);
    expect(names.some((s) => s.startsWith('m2/ctx/r1'))).toBe(true);
  });

  it('rejects an unknown context mode with the allowed forms', () => {
    expect(() => net({ context: 'X3' })).toThrow(/R0, E, R<n> or R<n>E/);
  });
});
