import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../../engine/model/config.js';
import { resizeBilinear } from '../../../engine/model/layers.js';
import { GllNetwork } from '../../../engine/model/network.js';
import { shapeContract } from '../../../engine/model/shape-contract.js';
import { StageRunner, disposeStageTensors } from '../../../engine/train/stage-runner.js';
import { useTestBackend } from '../../helpers/backend.js';

// torch.nn.functional.interpolate of [[0,1,3],[2,5,4],[7,6,8]] to 5x5, mode='bilinear'.
const TORCH_ALIGN_TRUE = [0, 0.5, 1, 2, 3, 1, 2, 3, 3.25, 3.5, 2, 3.5, 5, 4.5, 4, 4.5, 5, 5.5, 5.75, 6, 7, 6.5, 6, 7, 8];
const TORCH_ALIGN_FALSE = [0, 0.4, 1, 2.2, 3, 0.8, 1.52, 2.6, 3.08, 3.4, 2, 3.2, 5, 4.4, 4, 5, 5.24, 5.6, 6.08, 6.4, 7, 6.6, 6, 7.2, 8];

// Parameter counts of the release's auxiliary_nets.py at aux_net_widen = 2 (torch, by input channels):
// AuxClassifier(c, '1c2f', 'cross_entropy', 10, widen=2, feature_dim=128) and Decoder(c, 32, widen=2).
const RELEASE_HEAD_W2: Record<number, number> = { 16: 28_554, 32: 72_714, 64: 109_578 };
const RELEASE_DECODER_W2: Record<number, number> = { 16: 4179, 32: 7635, 64: 14_547 };

const nets: GllNetwork[] = [];
beforeAll(useTestBackend);
afterAll(() => nets.forEach((n) => n.dispose()));

/** Trainable parameters only, as torch's parameters() counts them (BN running statistics are buffers there). */
function roleParams(net: GllNetwork, k: number, role: string): number {
  return net.moduleParams(k).filter((p) => p.role === role && p.trainable).reduce((n, p) => n + p.variable.size, 0);
}

describe("auxiliary nets built the release's way (auxNets: 'release')", () => {
  it('upsamples like torch with align_corners=True, and like align_corners=False by default', () => {
    const x = tf.tensor4d([0, 1, 3, 2, 5, 4, 7, 6, 8], [1, 3, 3, 1]);
    const close = (got: ArrayLike<number>, want: number[]): void => want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 5));
    close(resizeBilinear(x, 5, 5, true).dataSync(), TORCH_ALIGN_TRUE);
    close(resizeBilinear(x, 5, 5).dataSync(), TORCH_ALIGN_FALSE);
  });

  it("has the release's parameter counts for widened heads and decoders with biases, and the shape contract agrees", () => {
    const config: ModelConfig = { ...DEFAULT_MODEL_CONFIG, modules: 16, context: 'R0', decoder: true, widen: 2, auxNets: 'release' };
    const net = new GllNetwork(config);
    nets.push(net);
    const contract = shapeContract(config);
    for (let k = 0; k < net.moduleCount - 1; k++) {
      const c = net.outputShape(k)[2];
      expect(roleParams(net, k, 'head'), `module ${k} head`).toBe(RELEASE_HEAD_W2[c]);
      expect(roleParams(net, k, 'decoder'), `module ${k} decoder`).toBe(RELEASE_DECODER_W2[c]);
      expect(contract.modules[k]!.paramCount, `module ${k}`).toBe(net.moduleParams(k).reduce((n, p) => n + p.variable.size, 0));
    }
  });

  it("keeps contsup's heads and decoder unless asked (hidden width featureDim, no decoder biases)", () => {
    const plain = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, modules: 16, context: 'R0', decoder: true, widen: 2 });
    nets.push(plain);
    const c = plain.outputShape(0)[2];
    // Hidden width 128 instead of 256: the two linears have (64 + 1) * 128 + 128 * 10 fewer weights.
    expect(roleParams(plain, 0, 'head')).toBe(RELEASE_HEAD_W2[c]! - (65 * 128 + 128 * 10));
    // No biases on the two convs: 24 (widen 2: 12 x 2 channels) + 3 fewer than the release's decoder.
    expect(roleParams(plain, 0, 'decoder')).toBe(RELEASE_DECODER_W2[c]! - 24 - 3);
  });

  it('trains a step with the release decoder: its biases receive gradients and move', async () => {
    const net = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, model: 'resnet20', modules: 2, context: 'E', decoder: true, auxNets: 'release', inputSize: 8 });
    nets.push(net);
    const bias = net.store.params.find((p) => p.name.endsWith('/dec/conv2/b'))!;
    const before = Array.from(bias.variable.dataSync());
    const h = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const target = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const runner = new StageRunner(net, 0, 1);
    const { output, metrics } = await runner.train({ h, image: h, history: [] }, tf.tensor1d([0, 1, 2, 3], 'int32'), target, 0.1);
    disposeStageTensors(output);
    runner.dispose();
    expect(metrics.every((m) => Number.isFinite(m.loss))).toBe(true);
    expect(Array.from(bias.variable.dataSync())).not.toEqual(before);
  });
});
