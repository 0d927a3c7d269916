import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../../engine/model/config.js';
import { GllNetwork } from '../../../engine/model/network.js';

const nets: GllNetwork[] = [];
function build(over: Partial<ModelConfig>): GllNetwork {
  const net = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, ...over });
  nets.push(net);
  return net;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => {
  while (nets.length) nets.pop()!.dispose();
});

describe('parameter counts match the reference table', () => {
  it('ResNet-32 backbone has 466,906 parameters at every K', () => {
    for (const modules of [1, 2, 4, 8, 16]) {
      expect(build({ modules, context: 'R0' }).paramCounts().backbone).toBe(466_906);
    }
  });

  it('ResNet-110 backbone has 1,730,714 parameters', () => {
    expect(build({ model: 'resnet110', modules: 1, context: 'R0' }).paramCounts().backbone).toBe(1_730_714);
  });

  it('ResNet-32 K=16 heads and context encoders for R0, E, R1, R1E', () => {
    const expected: Record<string, number> = { R0: 0, E: 62_232, R1: 21_808, R1E: 83_944 };
    for (const [context, ctx] of Object.entries(expected)) {
      const counts = build({ modules: 16, context }).paramCounts();
      expect(counts.head, context).toBe(388_374);
      expect(counts.context, context).toBe(ctx);
    }
  });

  it('ResNet-32 K=4 with E: heads 84,958, context 13,512', () => {
    const counts = build({ modules: 4, context: 'E' }).paramCounts();
    expect(counts.head).toBe(84_958);
    expect(counts.context).toBe(13_512);
  });

  it('K=1 is plain end-to-end: no heads, no context', () => {
    const counts = build({ modules: 1, context: 'R1E' }).paramCounts();
    expect(counts).toEqual({ backbone: 466_906, head: 0, context: 0, decoder: 0 });
  });
});
