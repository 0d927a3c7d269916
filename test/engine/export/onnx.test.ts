import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dataset, ImageSet } from '../../../engine/data/dataset.js';
import { generateSynthetic } from '../../../engine/data/synthetic.js';
import { exportOnnx } from '../../../engine/export/onnx.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../../engine/model/config.js';
import { GllNetwork } from '../../../engine/model/network.js';
import { saveModel } from '../../../engine/train/checkpoint.js';
import { InProcessTrainer } from '../../../engine/train/gll-trainer.js';
import { useTestBackend } from '../../helpers/backend.js';
import { contsupLogits, errorPercent, toNchwUnit } from './onnx-reference.js';

beforeAll(useTestBackend);
const dir = mkdtempSync(join(tmpdir(), 'contsup-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PYTHON = '/usr/bin/python3';
const checker = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
const checkerMissing = checker.status === 0 ? null : `${PYTHON} cannot import onnx (${(checker.stderr || String(checker.error)).trim().split('\n').pop()}): install python3-onnx`;
if (checkerMissing) console.warn(`skipping the ONNX checker test: ${checkerMissing}`);

interface Trained {
  net: GllNetwork;
  data: Dataset;
  contsupError: number;
  model: Uint8Array;
}

/** A few SGD steps, so weights and BN running statistics are far from their initial values. */
async function train(cfg: ModelConfig, data: Dataset): Promise<Trained> {
  const net = new GllNetwork(cfg);
  const trainer = new InProcessTrainer(net, { epochs: 1, batchSize: 16, lr: 0.05, seed: 3 });
  await trainer.trainEpoch(data.train, data.preprocess, 1);
  const { testError } = await trainer.evaluate(data.test, data.preprocess);
  trainer.dispose();
  return { net, data, contsupError: testError, model: saveModel(net) };
}

async function onnxLogits(onnx: Uint8Array, set: ImageSet): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(onnx);
  const input = new ort.Tensor('float32', toNchwUnit(set), [set.count, set.channels, set.height, set.width]);
  const out = await session.run({ image: input });
  await session.release();
  return out.logits.data as Float32Array;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

const synthetic = generateSynthetic({ seed: 5, trainCount: 64, testCount: 64 });
const base: ModelConfig = { ...DEFAULT_MODEL_CONFIG, model: 'resnet20', inputSize: 32, inChannels: 3, numClasses: 10 };

describe('ONNX export', () => {
  const cases: Array<[string, Partial<ModelConfig>]> = [
    ['end-to-end (K = 1)', { modules: 1, context: 'R0' }],
    ['K = 4 with E', { modules: 4, context: 'E' }],
    ['K = 4 with R1E', { modules: 4, context: 'R1E' }],
  ];
  for (const [label, over] of cases) {
    it(`${label}: onnxruntime gives contsup's logits and test error on 64 test images`, async () => {
      const t = await train({ ...base, ...over }, synthetic);
      const onnx = exportOnnx(t.model, { mean: t.data.preprocess.mean, std: t.data.preprocess.std });
      const ours = contsupLogits(t.net, t.data.test, t.data.preprocess);
      const theirs = await onnxLogits(onnx, t.data.test);
      const scale = ours.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(scale).toBeGreaterThan(0.1);
      expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-4 * Math.max(1, scale));
      expect(errorPercent(theirs, t.data.test.labels, 10)).toBe(t.contsupError);
      t.net.dispose();
    });
  }

  it('pools context with averaging matrices where sizes do not divide (10x10 input, R2 and E)', async () => {
    // 10 -> 5 -> 3: the E and R2 encoders pool 10 -> 3 and 5 -> 3, which no plain average pool does.
    const pick = (set: ImageSet, count: number): ImageSet => {
      const images = new Uint8Array(count * 10 * 10 * 3).map((_, i) => {
        const n = Math.floor(i / 300), r = i % 300, y = Math.floor(r / 30), x = Math.floor((r % 30) / 3), c = r % 3;
        return set.images[n * 3072 + 3 * y * 96 + 3 * x * 3 + c];
      });
      return { images, labels: set.labels.slice(0, count), count, height: 10, width: 10, channels: 3 };
    };
    const small: Dataset = { ...synthetic, train: pick(synthetic.train, 32), test: pick(synthetic.test, 32) };
    const t = await train({ ...base, inputSize: 10, modules: 4, context: 'R2E', partition: 'equal' }, small);
    expect(t.net.usesImage(3)).toBe(true);
    expect(t.net.contextSources(3)).toEqual([2, 1]);
    const onnx = exportOnnx(t.model, { mean: small.preprocess.mean, std: small.preprocess.std });
    const ours = contsupLogits(t.net, small.test, small.preprocess);
    const theirs = await onnxLogits(onnx, small.test);
    expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-4 * Math.max(1, ours.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    t.net.dispose();
  });

  it('outputs softmax probabilities beside the logits, and a batch of any size', async () => {
    const net = new GllNetwork({ ...base, modules: 2, context: 'E' });
    const onnx = exportOnnx(saveModel(net), { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], classNames: Array.from({ length: 10 }, (_, i) => `c${i}`) });
    net.dispose();
    const session = await ort.InferenceSession.create(onnx);
    expect(session.inputNames).toEqual(['image']);
    expect(session.outputNames).toEqual(['logits', 'probabilities']);
    const out = await session.run({ image: new ort.Tensor('float32', new Float32Array(3 * 3 * 32 * 32).fill(0.3), [3, 3, 32, 32]) });
    expect(out.probabilities.dims).toEqual([3, 10]);
    const p = out.probabilities.data as Float32Array;
    for (let i = 0; i < 3; i++) expect(p.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    await session.release();
  });

  it.skipIf(checkerMissing !== null)('passes the ONNX checker (python3-onnx, full check with shape inference)', () => {
    const net = new GllNetwork({ ...base, modules: 4, context: 'R1E' });
    const path = join(dir, 'r1e.onnx');
    writeFileSync(path, exportOnnx(saveModel(net), { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }));
    net.dispose();
    const script = 'import onnx, sys\nm = onnx.load(sys.argv[1])\nonnx.checker.check_model(m, full_check=True)\nprint(m.ir_version, m.opset_import[0].version)';
    const r = spawnSync(PYTHON, ['-c', script, path], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('8 17');
  });

  it('names the fix when the normalisation does not match the model', () => {
    const net = new GllNetwork({ ...base, modules: 1, context: 'R0' });
    const model = saveModel(net);
    net.dispose();
    expect(() => exportOnnx(model, { mean: [0.5], std: [0.5] })).toThrow(/1 means and 1 stds given for a 3-channel model; give one per channel/);
    expect(() => exportOnnx(model, { mean: [0, 0, 0], std: [1, 0, 1] })).toThrow(/std > 0/);
    expect(() => exportOnnx(new Uint8Array([1, 2, 3]), { mean: [0, 0, 0], std: [1, 1, 1] })).toThrow(/not a contsup-model file/);
  });

  it('loads no tfjs: the export imports only pure files', () => {
    // Follows relative imports from engine/export/onnx.ts through the sources; the coordinator may export without tfjs.
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      // `import type` is erased at compile time; every other import loads its module.
      for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import(?! type )|export)[^'"]*from\s+'([^']+)'/gm)) {
        const spec = m[1];
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        else bare.add(spec);
      }
    };
    visit(join(root, 'engine/export/onnx.ts'));
    expect(seen.size).toBeGreaterThan(4);
    expect([...bare].sort()).toEqual(['msgpackr', 'onnx-proto']);
  });
});
