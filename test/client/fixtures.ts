import { generateSynthetic } from '../../engine/data/synthetic.js';
import { preprocessFor } from '../../engine/data/dataset.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../engine/model/config.js';
import { GllNetwork } from '../../engine/model/network.js';
import type { StageInput } from '../../protocol/data-messages.js';
import type { JobSpec } from '../../protocol/job-spec.js';
import type { StageAssign, StageDataInfoMessage } from '../../protocol/stage-messages.js';
import { encodeFrame } from '../../protocol/tensor-frame.js';

/** Tiny on purpose: 16x16 images keep a resnet20 step in the tens of milliseconds on wasm. */
export const SIZE = 16;
export const BATCH = 8;

export function job(context: string, modules = 2, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    model: 'resnet20',
    modules,
    context,
    loss: 'ce',
    head: '1c2f',
    decoder: false,
    dataset: 'synthetic',
    epochs: 1,
    batchSize: BATCH,
    lr: 0.1,
    wire: 'float32',
    minDevices: 1,
    seed: 3,
    checkpointEvery: 0,
    partition: 'equal',
    ...extra,
  };
}

export const dataInfo: StageDataInfoMessage = { height: SIZE, width: SIZE, channels: 3, numClasses: 10, preprocess: preprocessFor('synthetic') };

/** The reference config, written out by hand so the device's own job -> config mapping is checked, not reused. */
export function referenceConfig(spec: JobSpec): ModelConfig {
  return { ...DEFAULT_MODEL_CONFIG, model: 'resnet20', modules: spec.modules, context: spec.context, decoder: spec.decoder, inputSize: SIZE, seed: spec.seed };
}

const data = generateSynthetic({ seed: 2, trainCount: 16, testCount: 2 });

/** Synthetic 32x32 images downscaled to 16x16 (every other pixel), raw uint8. */
export function images(first: number, n = BATCH): Uint8Array {
  const out = new Uint8Array(n * SIZE * SIZE * 3);
  for (let i = 0; i < out.length; i++) {
    const img = Math.floor(i / (SIZE * SIZE * 3)) + first;
    const r = i % (SIZE * SIZE * 3);
    const y = Math.floor(r / (SIZE * 3));
    const x = Math.floor((r % (SIZE * 3)) / 3);
    const c = r % 3;
    out[i] = data.train.images[img * 3072 + 2 * y * 96 + 2 * x * 3 + c]!;
  }
  return out;
}

export function labels(first: number, n = BATCH): Uint8Array {
  return data.train.labels.slice(first, first + n);
}

export function assignFor(spec: JobSpec, stage: number, first: number, last: number, extra: Partial<StageAssign> = {}): StageAssign {
  const net = new GllNetwork(referenceConfig(spec));
  const inputShape = net.inputShape(first);
  net.dispose();
  return { jobId: 'job-1', stage, firstModule: first, lastModule: last, job: spec, data: dataInfo, inputShape, step: 0, maxFrameBytes: 64 << 20, ...extra };
}

/** A stage-0 train input for images first..first+BATCH-1. */
export function stage0Input(batchId: number, first: number, extra: Partial<StageInput> = {}): StageInput {
  return {
    jobId: 'job-1',
    stage: 0,
    batchId,
    epoch: 1,
    step: batchId,
    phase: 'train',
    labels: encodeFrame(labels(first), [BATCH], 'uint8'),
    images: encodeFrame(images(first), [BATCH, SIZE, SIZE, 3], 'uint8'),
    augmentSeed: 1000 + batchId,
    lr: 0.05,
    ...extra,
  };
}
