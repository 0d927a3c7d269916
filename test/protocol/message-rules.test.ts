import { describe, expect, it } from 'vitest';
import { jobSpec, valid } from './fixtures.js';
import { expectRejected, validate } from './helpers.js';

describe('device, stage, metrics and control messages: semantic rules', () => {
  it('accepts an optional userAgent on join and rejects an unknown device kind', () => {
    expect(() => validate('device:join', { ...valid['device:join'](), kind: 'browser', userAgent: 'Mozilla/5.0' })).not.toThrow();
    expectRejected('device:join', { ...valid['device:join'](), kind: 'phone' }, 'kind: got "phone"; allowed: node, browser');
    expectRejected('device:join', { ...valid['device:join'](), memoryBytes: -1 }, 'memoryBytes');
    expectRejected('device:join', { ...valid['device:join'](), speedGflops: Infinity }, 'speedGflops');
  });

  it('caps the probe payload', () => {
    expectRejected('net:probe', { probeId: 1, payload: new Uint8Array(2 * 2 ** 20) }, 'payload: payload must be at most 1048576 bytes');
  });

  it('requires an assignment to name modules that exist, in order', () => {
    const msg = valid['stage:assign']();
    expectRejected('stage:assign', { ...msg, firstModule: 3, lastModule: 2 }, 'lastModule: lastModule 2 is before firstModule 3');
    expectRejected('stage:assign', { ...msg, lastModule: 4 }, 'lastModule 4 does not exist: the job has 4 modules');
    expectRejected('stage:assign', { ...msg, stage: 2, firstModule: 1 }, 'stage 2 cannot start at module 1');
    expectRejected('stage:assign', { ...msg, inputShape: [] }, 'inputShape');
    expectRejected('stage:assign', { ...msg, maxFrameBytes: 0 }, 'maxFrameBytes');
    expect(() => validate('stage:assign', { ...msg, checkpoint: new Uint8Array(10), step: 390 })).not.toThrow();
  });

  it('describes the data set in an assignment, one mean and std per channel', () => {
    const msg = valid['stage:assign']();
    expectRejected('stage:assign', { ...msg, data: { ...msg.data, channels: 1 } }, 'data.preprocess.mean: has 3 entries for 1 channels');
    expectRejected('stage:assign', { ...msg, data: { ...msg.data, numClasses: 1 } }, 'data.numClasses');
    expectRejected('stage:assign', { ...msg, data: { ...msg.data, preprocess: { ...msg.data.preprocess, padMode: 'edge' } } }, 'data.preprocess.padMode: got "edge"; allowed: reflect, zero');
    expectRejected('stage:assign', { ...msg, data: { ...msg.data, preprocess: { ...msg.data.preprocess, std: [1, 0, 1] } } }, 'data.preprocess.std[1]');
  });

  it('carries a complete job spec in an assignment, without defaults', () => {
    const { seed: _seed, ...partial } = jobSpec();
    expectRejected('stage:assign', { ...valid['stage:assign'](), job: partial }, 'job.seed: missing (expected number)');
  });

  it('reports a diverged loss as NaN or Infinity but refuses more correct than counted', () => {
    const msg = valid['stage:metrics']();
    const diverged = { ...msg, modules: [{ module: 1, loss: NaN, correct: 0, count: 8 }, { module: 2, loss: Infinity, correct: 0, count: 8 }] };
    const parsed = validate('stage:metrics', diverged) as typeof msg;
    expect(parsed.modules[0]!.loss).toBeNaN();
    expectRejected('stage:metrics', { ...msg, modules: [{ module: 1, loss: 1, correct: 9, count: 8 }] }, 'modules[0].correct: correct 9 exceeds count 8');
    expectRejected('stage:metrics', { ...msg, modules: [{ module: 1, loss: '1', correct: 1, count: 8 }] }, 'modules[0].loss');
    expectRejected('stage:metrics', { ...msg, modules: [] }, 'modules: length must be >= 1');
    expectRejected('stage:eval', { ...valid['stage:eval'](), modules: [{ module: 64, correct: 1, count: 1, loss: 0 }] }, 'modules[0].module');
    expectRejected('stage:metrics', { ...msg, peakBytes: [-5] }, 'peakBytes[0]');
    // A supcon head cannot classify: its accuracy is null, not zero.
    expect(() => validate('stage:metrics', { ...msg, modules: [{ module: 1, loss: 3, correct: null, count: 8 }] })).not.toThrow();
    expectRejected('stage:metrics', { ...msg, modules: [{ module: 1, loss: 3, count: 8 }] }, 'modules[0].correct: missing');
  });

  it('lets an error carry any code but requires one', () => {
    expect(() => validate('error', { code: 'internal', message: 'boom' })).not.toThrow();
    expectRejected('error', { code: '', message: 'boom' }, 'code');
  });
});
