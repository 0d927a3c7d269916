import { encodeFrame } from '../../protocol/tensor-frame.js';
import type { JobSpec } from '../../protocol/job-spec.js';

/** A complete JobSpec as stage:assign carries it. */
export function jobSpec(): JobSpec {
  return {
    model: 'resnet32',
    modules: 4,
    context: 'R1E',
    loss: 'ce',
    head: '1c2f',
    decoder: false,
    dataset: 'cifar10',
    epochs: 2,
    batchSize: 8,
    lr: 0.1,
    wire: 'float16',
    minDevices: 2,
    seed: 7,
    checkpointEvery: 1,
    partition: 'equal',
  };
}

const N = 8;

export const labels = () => encodeFrame(Uint8Array.from({ length: N }, (_, i) => i % 10), [N], 'uint8');
// Small tensors: deep equality over big byte arrays would dominate the test time.
export const images = () => encodeFrame(new Uint8Array(N * 8 * 8 * 3), [N, 8, 8, 3], 'uint8');
export const features = (n = N) => encodeFrame(new Float32Array(n * 4 * 4 * 8), [n, 4, 4, 8], 'float16');

/** One valid payload per event, fresh each call so tests may mutate them. */
export const valid = {
  'device:join': () => ({
    protocolVersion: 1,
    token: 'secret',
    name: 'laptop',
    kind: 'node' as const,
    backend: 'tensorflow',
    memoryBytes: 8 * 2 ** 30,
    speedGflops: 42.5,
  }),
  'device:welcome': () => ({ deviceId: 'dev-1', protocolVersion: 1, heartbeatMs: 2000 }),
  'device:heartbeat': () => ({ sentAt: 1_700_000_000_000 }),
  'net:probe': () => ({ probeId: 3, payload: new Uint8Array(1024) }),
  'net:probe-ack': () => ({ probeId: 3, receivedBytes: 1024 }),
  'stage:assign': () => ({
    jobId: 'job-1',
    stage: 1,
    firstModule: 1,
    lastModule: 2,
    job: jobSpec(),
    data: {
      height: 32,
      width: 32,
      channels: 3,
      numClasses: 10,
      preprocess: { mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26], pad: 4, padMode: 'reflect' as const, flip: true },
    },
    inputShape: [4, 4, 8],
    step: 0,
    maxFrameBytes: 4 * 2 ** 20,
  }),
  'stage:ready': () => ({ jobId: 'job-1', stage: 1 }),
  'stage:release': () => ({ jobId: 'job-1', stage: 1 }),
  'stage:input': () => ({
    jobId: 'job-1',
    stage: 0,
    batchId: 17,
    epoch: 0,
    step: 17,
    phase: 'train' as const,
    labels: labels(),
    images: images(),
    augmentSeed: 123456,
    lr: 0.05,
    checkpointAfter: true,
  }),
  'stage:output': () => ({
    jobId: 'job-1',
    stage: 1,
    batchId: 17,
    epoch: 0,
    step: 17,
    phase: 'train' as const,
    labels: labels(),
    h: features(),
    image: images(),
    history: [features()],
  }),
  'stage:done': () => ({ jobId: 'job-1', stage: 3, batchId: 17, phase: 'eval' as const }),
  'stage:metrics': () => ({
    jobId: 'job-1',
    stage: 1,
    batchId: 17,
    epoch: 0,
    step: 17,
    modules: [
      { module: 1, loss: 2.1, correct: 3, count: 8 },
      { module: 2, loss: 2.2, correct: 2, count: 8 },
    ],
    samplesPerSec: 120.5,
    peakBytes: [1_000_000, 2_000_000],
  }),
  'stage:eval': () => ({ jobId: 'job-1', stage: 3, batchId: 40, epoch: 1, modules: [{ module: 3, correct: 9000, count: 10000, loss: 0.4 }] }),
  'stage:checkpoint': () => ({ jobId: 'job-1', stage: 1, epoch: 0, step: 390, weights: new Uint8Array(100) }),
  'job:stop': () => ({ jobId: 'job-1', reason: 'stopped by user' }),
  'stage:arrived': () => ({ jobId: 'job-1', stage: 1, batchId: 17, bytes: 3_145_728 }),
  'stage:relay-fallback': () => ({ jobId: 'job-1', stage: 0, reason: 'cannot connect to 10.0.0.3:4100: ECONNREFUSED' }),
  'net:peer-probe': () => ({ probeId: 4, targetDeviceId: 'd-2', address: '10.0.0.3:4100', token: 'p'.repeat(48) }),
  'net:peer-probe-result': () => ({ probeId: 4, targetDeviceId: 'd-2', rttMs: 0.4, bandwidthBytesPerSec: 1.2e9 }),
  error: () => ({ code: 'bad-tensor', message: 'tensor h has shape [1], stage 2 expects [2]', event: 'stage:output', batchId: 17 }),
};
