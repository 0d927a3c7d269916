import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../protocol/tensor-frame.js';
import { features, images, valid } from './fixtures.js';
import { expectRejected, validate } from './helpers.js';

describe('data messages: tensors', () => {
  it('accepts a later stage input with h, E image and R history', () => {
    const { images: _images, augmentSeed: _seed, ...rest } = valid['stage:input']();
    const msg = { ...rest, stage: 2, h: features(), image: images(), history: [images(), features()] };
    expect(() => validate('stage:input', msg)).not.toThrow();
  });

  it('gives train batches a learning rate and stage 0 a seed, and eval batches neither', () => {
    const { lr: _lr, augmentSeed: _seed, checkpointAfter: _ckpt, ...evalInput } = valid['stage:input']();
    expect(() => validate('stage:input', { ...evalInput, phase: 'eval' })).not.toThrow();
    expectRejected('stage:input', { ...evalInput, phase: 'train', augmentSeed: 1 }, 'lr: missing: a train batch carries its learning rate');
    expectRejected('stage:input', { ...evalInput, phase: 'train', lr: 0.1 }, 'augmentSeed: missing: stage 0 train batches carry their augmentation seed');
    expectRejected('stage:input', { ...evalInput, phase: 'eval', lr: 0.1 }, 'lr: eval batches take no updates');
    expectRejected('stage:input', { ...evalInput, phase: 'eval', checkpointAfter: true }, 'checkpointAfter: eval batches');
    expectRejected('stage:input', { ...valid['stage:input'](), lr: 0 }, 'lr: value must be > 0');
  });

  it('rejects a frame whose byte length does not match dtype x shape, naming the tensor', () => {
    const msg = valid['stage:output']();
    msg.h = { ...msg.h, bytes: msg.h.bytes.subarray(1) };
    expectRejected('stage:output', msg, /^stage:output for batch 17: h: tensor carries 2047 bytes, but float16 x \[8,4,4,8\] needs 2048/);
  });

  it('rejects negative and fractional dimensions', () => {
    const msg = valid['stage:output']();
    expectRejected('stage:output', { ...msg, h: { ...msg.h, shape: [8, -4, 4, 8] } }, 'h.shape[1]: value must be >= 0 (got -4)');
    expectRejected('stage:output', { ...msg, h: { ...msg.h, shape: [8, 4, 4, 8.5] } }, 'h.shape[3]');
  });

  it('rejects an unknown dtype, a missing scale on int8, bytes sent as numbers and extra frame fields', () => {
    const msg = valid['stage:output']();
    expectRejected('stage:output', { ...msg, h: { ...msg.h, dtype: 'bfloat16' } }, 'h.dtype: got "bfloat16"; allowed: float32, float16, int8, uint8, int32');
    const q = encodeFrame(new Float32Array(8 * 4 * 4 * 8), [8, 4, 4, 8], 'int8');
    expect(() => validate('stage:output', { ...msg, h: q })).not.toThrow();
    delete q.scale;
    expectRejected('stage:output', { ...msg, h: q }, 'without a finite scale');
    expectRejected('stage:output', { ...msg, labels: { ...msg.labels, bytes: Array.from(msg.labels.bytes) } }, 'labels.bytes: expected Uint8Array');
    expectRejected('stage:output', { ...msg, labels: { ...msg.labels, name: 'y' } }, 'labels: unknown field(s) labels.name');
  });

  it('restricts each tensor to its dtypes and rank', () => {
    const msg = valid['stage:output']();
    expectRejected('stage:output', { ...msg, h: encodeFrame(new Uint8Array(8 * 4), [8, 2, 2, 1], 'uint8') }, 'h.dtype: dtype uint8 is not allowed here');
    expectRejected('stage:output', { ...msg, labels: encodeFrame(new Float32Array(8), [8], 'float32') }, 'labels.dtype');
    expectRejected('stage:output', { ...msg, labels: encodeFrame(new Uint8Array(8), [8, 1], 'uint8') }, 'labels.shape: shape has rank 2, expected rank 1');
    expectRejected('stage:output', { ...msg, image: encodeFrame(new Float32Array(8 * 4), [8, 2, 2, 1], 'float32') }, 'image.dtype');
  });

  it('requires every tensor to hold as many examples as labels', () => {
    expectRejected('stage:output', { ...valid['stage:output'](), h: features(4) }, 'h.shape[0]: batch dimension is 4 but labels hold 8 examples');
    expectRejected('stage:output', { ...valid['stage:output'](), history: [features(), features(2)] }, 'history[1].shape[0]');
  });

  it('gives stage 0 images and a seed, and later stages h', () => {
    const first = valid['stage:input']();
    expectRejected('stage:input', { ...first, images: undefined }, 'images: missing: stage 0 needs the raw images');
    expectRejected('stage:input', { ...first, h: features() }, 'h: stage 0 takes images, not h');
    expectRejected('stage:input', { ...first, stage: 1 }, "h: missing: stage 1 needs the previous stage's features");
    expectRejected('stage:input', { ...first, stage: 1, h: features() }, 'images: only stage 0 takes raw images');
    expectRejected('stage:input', { ...first, augmentSeed: -1 }, 'augmentSeed');
    expectRejected('stage:input', { ...first, augmentSeed: 2 ** 32 }, 'augmentSeed');
  });

  it('accepts int32 labels and a final-stage output without h', () => {
    const msg = valid['stage:output']();
    expect(() => validate('stage:output', { ...msg, labels: encodeFrame(new Int32Array(8), [8], 'int32') })).not.toThrow();
    const { h: _h, ...withoutH } = msg;
    expect(() => validate('stage:output', withoutH)).not.toThrow();
  });

  it('rejects a phase outside train and eval', () => {
    expectRejected('stage:done', { ...valid['stage:done'](), phase: 'test' }, 'phase: got "test"; allowed: train, eval');
  });
});
