import { describe, expect, it } from 'vitest';
import { valid } from './fixtures.js';
import { expectRejected, validate } from './helpers.js';

// Fields a fixture includes that a message may leave out.
const OPTIONAL: Record<string, readonly string[]> = {
  'stage:input': ['checkpointAfter'],
  'stage:output': ['h', 'image', 'history'],
  error: ['event', 'batchId'],
};

/** A value of another JSON/msgpack kind than `value`. */
function wrongKind(value: unknown): unknown {
  if (typeof value === 'string') return 42;
  if (value instanceof Uint8Array) return Array.from(value.subarray(0, 4));
  if (typeof value === 'object' && value !== null) return 'x';
  return 'x';
}

describe('message schemas, every event', () => {
  for (const [event, make] of Object.entries(valid)) {
    describe(event, () => {
      it('accepts a valid message and returns it unchanged', () => {
        const msg = make();
        expect(validate(event, msg)).toEqual(msg);
      });

      it('rejects each missing required field by name', () => {
        for (const key of Object.keys(make())) {
          if (OPTIONAL[event]?.includes(key)) continue;
          const msg: Record<string, unknown> = make();
          delete msg[key];
          expectRejected(event, msg, new RegExp(`\\b${key}\\b`));
        }
      });

      it('still accepts it without each optional field', () => {
        for (const key of OPTIONAL[event] ?? []) {
          const msg: Record<string, unknown> = make();
          delete msg[key];
          expect(() => validate(event, msg)).not.toThrow();
        }
      });

      it('rejects an unknown field', () => {
        const err = expectRejected(event, { ...make(), surprise: 1 }, 'unknown field(s) surprise');
        expect(err.code).toBe('bad-schema');
      });

      it('rejects a value of the wrong type in each field, never coercing', () => {
        for (const [key, value] of Object.entries(make())) {
          expectRejected(event, { ...make(), [key]: wrongKind(value) }, new RegExp(`\\b${key}\\b`));
        }
      });

      it('rejects a payload that is not a map', () => {
        for (const payload of [null, 'x', [make()], undefined]) expectRejected(event, payload, event);
      });
    });
  }

  it('rejects numbers sent as strings rather than converting them', () => {
    expectRejected('stage:done', { ...valid['stage:done'](), batchId: '17' }, 'batchId: expected number, got "17"');
  });

  it('names the batch of a refused data message', () => {
    expectRejected('stage:output', { ...valid['stage:output'](), epoch: -1 }, /^stage:output for batch 17: epoch: /);
  });
});
