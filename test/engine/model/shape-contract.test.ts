import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../../engine/model/config.js';
import { GllNetwork } from '../../../engine/model/network.js';
import { cutAfter, shapeContract, type ShapeContract, type WireDtype } from '../../../engine/model/shape-contract.js';
import { StageRunner, type StageTensors } from '../../../engine/train/stage-runner.js';
import { BYTES_PER_ELEMENT } from '../../../protocol/tensor-frame.js';
import { maxModulesFor } from '../../../protocol/job-spec.js';
import type { ModelName } from '../../../protocol/names.js';
import { useTestBackend } from '../../helpers/backend.js';

beforeAll(useTestBackend);

const MODES = ['R0', 'E', 'R1', 'R2', 'R1E', 'R2E'];
const KS = [1, 2, 4, 8, 16];
const INPUTS = [
  { inputSize: 28, inChannels: 1 },
  { inputSize: 32, inChannels: 3 },
];
/** Small batches keep the forwards cheap; sizes below are per sample. */
const BATCH = 1;

/** Every (model, K, mode, input) the contract must agree on; K only where the model can be cut that often. */
function grid(models: ModelName[]): ModelConfig[] {
  return models.flatMap((model) =>
    KS.filter((k) => k <= maxModulesFor(model)).flatMap((modules) =>
      MODES.flatMap((context) => INPUTS.map((input) => ({ ...DEFAULT_MODEL_CONFIG, model, modules, context, ...input }))),
    ),
  );
}

const name = (c: ModelConfig): string => `${c.model} K=${c.modules} ${c.context} ${c.inputSize}x${c.inputSize}x${c.inChannels}${c.decoder ? ' decoder' : ''}`;
const perSample = (t: tf.Tensor): number[] => t.shape.slice(1);

/** The network's own view of each module, as the contract states it. */
function agreesWithNetwork(contract: ShapeContract, net: GllNetwork, label: string): void {
  expect(contract.modules.length, label).toBe(net.moduleCount);
  expect(contract.historyLength, label).toBe(net.historyLength);
  contract.modules.forEach((m, k) => {
    const at = `${label} module ${k}`;
    expect(m.input, at).toEqual(net.inputShape(k));
    expect(m.output, at).toEqual(net.outputShape(k));
    expect(m.unitRange, at).toEqual(net.unitRange(k));
    expect(m.units, at).toEqual(net.unitSpecs(k));
    expect(m.contextSources, at).toEqual(net.contextSources(k));
    expect(m.usesImage, at).toBe(net.usesImage(k));
    expect(m.hasDecoder, at).toBe(net.hasDecoder(k));
    expect(m.paramCount, at).toBe(net.moduleParams(k).reduce((n, p) => n + p.variable.size, 0));
  });
}

/**
 * Runs the network one module per StageRunner, as a pipeline of K stages
 * would, and checks that what each runner hands on is what the contract
 * says crosses that cut, in shape and in bytes at every wire dtype.
 */
async function agreesWithTensors(contract: ShapeContract, net: GllNetwork, label: string): Promise<void> {
  const cfg = contract.config;
  const made: tf.Tensor[] = [];
  const x = tf.randomNormal([BATCH, cfg.inputSize, cfg.inputSize, cfg.inChannels], 0, 1, 'float32', 3) as tf.Tensor4D;
  const target = cfg.decoder ? (tf.randomUniform([BATCH, cfg.inputSize, cfg.inputSize, cfg.inChannels]) as tf.Tensor4D) : null;
  const labels = tf.tensor1d(new Int32Array(BATCH).fill(1), 'int32');
  made.push(x, labels, ...(target ? [target] : []));
  // As prepareBatch: module 0's input is the image, which is also the E source.
  let cur: StageTensors = { h: x, image: contract.mode.image ? x : null, history: [] };
  try {
    for (let k = 0; k < contract.modules.length; k++) {
      const at = `${label} cut after ${k}`;
      expect(perSample(cur.h), `${label} module ${k} input`).toEqual(contract.modules[k]!.input);
      const runner = new StageRunner(net, k, k);
      try {
        cur = (await runner.evaluate(cur, labels, target)).output;
      } finally {
        runner.dispose();
      }
      made.push(cur.h, ...cur.history);
      for (const wire of ['float32', 'float16', 'int8'] satisfies WireDtype[]) {
        const cut = cutAfter(contract, k, wire);
        expect(perSample(cur.h), at).toEqual(cut.h.shape);
        expect(cut.h.dtype, at).toBe(wire);
        // The image travels for E (it is the E source) or as a decoder target.
        if (cur.image) expect(perSample(cur.image), at).toEqual(cut.image?.shape);
        if (target) expect(perSample(target), at).toEqual(cut.image?.shape);
        expect(cut.image !== null, at).toBe(cur.image !== null || target !== null);
        expect(cut.history.map((e) => e.shape), at).toEqual(cur.history.map(perSample));
        // Module 0's entry is the image itself, so it can travel as the exact uint8 image.
        cut.history.forEach((e, i) => {
          expect(e.dtype, at).toBe(e.module === 0 ? 'uint8' : wire);
          if (e.module === 0) expect(cur.history[i], at).toBe(x);
        });
        const tensorBytes =
          cur.h.size * BYTES_PER_ELEMENT[wire] +
          (cut.image ? x.size : 0) +
          cur.history.reduce((n, t) => n + t.size * (t === x ? 1 : BYTES_PER_ELEMENT[wire]), 0);
        expect(cut.bytesPerSample, at).toBe(tensorBytes / BATCH + 1);
      }
    }
  } finally {
    tf.dispose(made);
  }
}

/** Builds the network once and holds the contract to it: declared shapes, then the tensors it hands on. */
async function agrees(cfg: ModelConfig, tensors: boolean): Promise<void> {
  const net = new GllNetwork(cfg);
  try {
    const contract = shapeContract(cfg);
    agreesWithNetwork(contract, net, name(cfg));
    if (tensors) await agreesWithTensors(contract, net, name(cfg));
  } finally {
    net.dispose();
  }
}

describe('shape contract', () => {
  // Building a network (drawing its weights) is most of the cost: each is built once.
  for (const model of ['resnet20', 'resnet32'] satisfies ModelName[]) {
    it(`agrees with ${model}'s modules and the tensors StageRunner hands on, for every mode, K and input`, async () => {
      for (const cfg of grid([model])) await agrees(cfg, true);
    });
  }

  it('agrees with resnet110: tensors at K = 16, declared shapes at the smaller K', async () => {
    for (const cfg of grid(['resnet110'])) {
      // Smaller K of a 1-channel input add nothing the two models above do not cover.
      if (cfg.modules === 16) await agrees(cfg, true);
      else if (cfg.inChannels === 3) await agrees(cfg, false);
    }
  });

  it('agrees on decoders, heads, losses, widening and the memory partition', async () => {
    const configs: ModelConfig[] = [
      { ...DEFAULT_MODEL_CONFIG, modules: 4, context: 'R1', decoder: true },
      { ...DEFAULT_MODEL_CONFIG, modules: 8, context: 'R2E', decoder: true, inputSize: 28, inChannels: 1 },
      { ...DEFAULT_MODEL_CONFIG, modules: 4, head: '2c2f', loss: 'supcon' },
      { ...DEFAULT_MODEL_CONFIG, modules: 4, head: '0c1f', widen: 2 },
      { ...DEFAULT_MODEL_CONFIG, modules: 4, partition: 'memory', context: 'R1E' },
      { ...DEFAULT_MODEL_CONFIG, model: 'resnet56', modules: 5, context: 'R3' },
    ];
    for (const cfg of configs) await agrees(cfg, true);
  });

  it('counts bytes per sample: h and R history at the wire dtype, the uint8 image once per copy, one label byte', () => {
    const r1e = shapeContract({ ...DEFAULT_MODEL_CONFIG, modules: 4, context: 'R1E' });
    const [h, w, c] = r1e.modules[1]!.output;
    const [ih, iw, ic] = r1e.modules[1]!.input;
    expect(cutAfter(r1e, 1, 'float32').bytesPerSample).toBe(h * w * c * 4 + 1 + 32 * 32 * 3 + ih * iw * ic * 4);
    expect(cutAfter(r1e, 1, 'float16').bytesPerSample).toBe(h * w * c * 2 + 1 + 32 * 32 * 3 + ih * iw * ic * 2);
    const r0 = shapeContract({ ...DEFAULT_MODEL_CONFIG, modules: 4, context: 'R0' });
    expect(cutAfter(r0, 1, 'int8').bytesPerSample).toBe(h * w * c + 1);
    // After module 0 of R1E both the E image and module 0's history entry (the image again) travel.
    const [h0, w0, c0] = r1e.modules[0]!.output;
    expect(cutAfter(r1e, 0, 'float32').bytesPerSample).toBe(h0 * w0 * c0 * 4 + 1 + 2 * 32 * 32 * 3);
  });

  it('rejects what GllNetwork rejects, with the same message', () => {
    expect(() => shapeContract({ ...DEFAULT_MODEL_CONFIG, context: 'R' })).toThrow(/unknown context mode "R"/);
    expect(() => shapeContract({ ...DEFAULT_MODEL_CONFIG, model: 'resnet20', modules: 11 })).toThrow(/from 1 to 10 for resnet20/);
    expect(() => cutAfter(shapeContract(DEFAULT_MODEL_CONFIG), 4, 'float32')).toThrow(/module 4 does not exist/);
  });
});
