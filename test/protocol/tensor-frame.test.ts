import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../protocol/errors.js';
import { decodeFrame, encodeFrame, frameByteLength, validateFrame, type TensorFrame } from '../../protocol/tensor-frame.js';

function ramp(n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * scale);
}

/** Same bytes starting at an odd offset of a bigger buffer, as msgpackr can hand a bin back. */
function atOddOffset(frame: TensorFrame): TensorFrame {
  const host = new Uint8Array(frame.bytes.byteLength + 3);
  host.set(frame.bytes, 1);
  return { ...frame, bytes: host.subarray(1, 1 + frame.bytes.byteLength) };
}

function thrown(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err: unknown) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('expected a ProtocolError');
}

describe('tensor frames', () => {
  it('round-trips float32 exactly, including NaN, infinities and -0', () => {
    const values = Float32Array.from([0, -0, 1.5, -3.25e-30, 3.4e38, NaN, Infinity, -Infinity, Math.PI]);
    const frame = encodeFrame(values, [3, 3], 'float32');
    expect(frame.bytes.byteLength).toBe(36);
    const back = decodeFrame(frame);
    expect(back).toBeInstanceOf(Float32Array);
    expect(Array.from(back)).toEqual(Array.from(values));
    expect(Object.is(back[1], -0)).toBe(true);
  });

  it('writes float32 little-endian', () => {
    const frame = encodeFrame(Float32Array.from([1]), [1], 'float32');
    expect(Array.from(frame.bytes)).toEqual([0x00, 0x00, 0x80, 0x3f]);
  });

  it('round-trips float16 within half an ulp and carries inf/nan', () => {
    const values = ramp(4096, 3);
    const back = decodeFrame(encodeFrame(values, [4, 1024], 'float16'));
    expect(back).toBeInstanceOf(Float32Array);
    for (let i = 0; i < values.length; i++) {
      expect(Math.abs(back[i]! - values[i]!)).toBeLessThanOrEqual(Math.max(Math.abs(values[i]!) * 2 ** -11, 2 ** -25));
    }
    const special = decodeFrame(encodeFrame(Float32Array.from([Infinity, -Infinity, NaN, 1e6]), [4], 'float16'));
    expect(special[0]).toBe(Infinity);
    expect(special[1]).toBe(-Infinity);
    expect(special[2]).toBeNaN();
    expect(special[3]).toBe(Infinity);
  });

  it('quantises int8 symmetrically with scale maxAbs/127 and error at most scale/2', () => {
    const values = ramp(1000, 5);
    values[10] = -5.5; // the extreme sets the scale
    const frame = encodeFrame(values, [10, 100], 'int8');
    expect(frame.scale).toBeCloseTo(5.5 / 127, 12);
    expect(frame.bytes.byteLength).toBe(1000);
    const back = decodeFrame(frame);
    for (let i = 0; i < values.length; i++) {
      expect(Math.abs(back[i]! - values[i]!)).toBeLessThanOrEqual(frame.scale! / 2 + 1e-6);
    }
    expect(back[10]).toBeCloseTo(-5.5, 5);
  });

  it('quantises +x and -x to opposite int8 codes', () => {
    const frame = encodeFrame(Float32Array.from([1, 0.5, -0.5, -1]), [4], 'int8');
    const q = new Int8Array(frame.bytes.buffer, frame.bytes.byteOffset, 4);
    expect(Array.from(q)).toEqual([127, 64, -64, -127]);
  });

  it('encodes an all-zero int8 tensor with a usable scale', () => {
    const frame = encodeFrame(new Float32Array(8), [8], 'int8');
    expect(frame.scale).toBe(1);
    expect(Array.from(decodeFrame(frame))).toEqual(new Array(8).fill(0));
  });

  it('refuses NaN or Infinity in an int8 tensor', () => {
    const err = thrown(() => encodeFrame(Float32Array.from([1, NaN]), [2], 'int8'));
    expect(err.code).toBe('bad-tensor');
    expect(err.message).toMatch(/NaN or Infinity/);
  });

  it('round-trips uint8 and int32, and builds uint8 from whole-number floats', () => {
    const img = Uint8Array.from([0, 7, 255, 128]);
    expect(Array.from(decodeFrame(encodeFrame(img, [1, 2, 2, 1], 'uint8')))).toEqual([0, 7, 255, 128]);
    const labels = Int32Array.from([3, -1, 2 ** 31 - 1]);
    const back = decodeFrame(encodeFrame(labels, [3], 'int32'));
    expect(back).toBeInstanceOf(Int32Array);
    expect(Array.from(back)).toEqual([3, -1, 2 ** 31 - 1]);
    expect(Array.from(encodeFrame(Float32Array.from([0, 255, 3]), [3], 'uint8').bytes)).toEqual([0, 255, 3]);
    expect(() => encodeFrame(Float32Array.from([0, 255.5]), [2], 'uint8')).toThrow(/only integers 0..255/);
    expect(() => encodeFrame(Float32Array.from([256]), [1], 'uint8')).toThrow(ProtocolError);
  });

  it('decodes frames whose bytes start at an unaligned offset', () => {
    const values = ramp(64);
    for (const dtype of ['float32', 'float16', 'int8'] as const) {
      const frame = encodeFrame(values, [8, 8], dtype);
      const moved = atOddOffset(frame);
      expect(moved.bytes.byteOffset % 2).toBe(1);
      expect(Array.from(decodeFrame(moved))).toEqual(Array.from(decodeFrame(frame)));
    }
    const ints = atOddOffset(encodeFrame(Int32Array.from([1, 2, 3]), [3], 'int32'));
    expect(Array.from(decodeFrame(ints))).toEqual([1, 2, 3]);
  });

  it('hands back a copy that does not alias the frame bytes', () => {
    const frame = encodeFrame(Uint8Array.from([1, 2, 3]), [3], 'uint8');
    const back = decodeFrame(frame);
    back[0] = 99;
    expect(frame.bytes[0]).toBe(1);
  });

  it('refuses a value count that does not fill the shape and the wrong array type', () => {
    expect(() => encodeFrame(new Float32Array(5), [2, 3], 'float32')).toThrow(/5 values do not fill float32 shape \[2,3\]/);
    expect(() => encodeFrame(new Float32Array(3), [3], 'int32')).toThrow(/needs an Int32Array, got Float32Array/);
    expect(() => encodeFrame(new Int32Array(3), [3], 'float16')).toThrow(ProtocolError);
    expect(() => encodeFrame(new Float32Array(0), [-1], 'float32')).toThrow(/non-negative integers/);
  });

  it('computes byte lengths from dtype and shape', () => {
    expect(frameByteLength('float32', [64, 16, 32, 32])).toBe(4 * 64 * 16 * 32 * 32);
    expect(frameByteLength('float16', [2, 3])).toBe(12);
    expect(frameByteLength('int8', [7])).toBe(7);
    expect(frameByteLength('int32', [])).toBe(4); // a scalar
    expect(frameByteLength('uint8', [0, 5])).toBe(0);
  });
});

describe('validateFrame', () => {
  const good = (): TensorFrame => encodeFrame(new Float32Array(6), [2, 3], 'float32');

  it('accepts a well-formed frame', () => {
    expect(() => validateFrame(good(), { dtype: 'float32', shape: [null, 3] }, 'tensor h')).not.toThrow();
  });

  it('names the tensor and the fix when the byte length is wrong', () => {
    const err = thrown(() => validateFrame({ ...good(), bytes: new Uint8Array(20) }, undefined, 'stage:output for batch 3: tensor h'));
    expect(err.code).toBe('bad-tensor');
    expect(err.message).toBe(
      'stage:output for batch 3: tensor h carries 20 bytes, but float32 x [2,3] needs 24 (6 elements x 4 bytes); send exactly product(shape) x 4 bytes',
    );
  });

  it('names the stage that expects another shape', () => {
    const frame = encodeFrame(new Float32Array(64 * 16 * 32 * 32), [64, 16, 32, 32], 'float32');
    const err = thrown(() => validateFrame(frame, { shape: [64, 32, 16, 16], by: 'stage 2' }, 'stage:input for batch 17: tensor h'));
    expect(String(err)).toBe('ProtocolError: stage:input for batch 17: tensor h has shape [64,16,32,32], stage 2 expects [64,32,16,16]');
  });

  it('refuses negative, fractional and non-numeric dimensions', () => {
    for (const shape of [[2, -3], [2, 1.5], ['2', 3]]) {
      const err = thrown(() => validateFrame({ dtype: 'float32', shape, bytes: new Uint8Array(24) }, undefined, 'tensor x'));
      expect(err.message).toMatch(/^tensor x has shape .*every dimension must be a non-negative integer$/);
    }
  });

  it('refuses unknown dtypes, non-byte payloads, a dtype mismatch and misplaced scales', () => {
    expect(() => validateFrame({ dtype: 'float64', shape: [1], bytes: new Uint8Array(8) }, undefined, 'tensor x')).toThrow(
      'tensor x has dtype "float64"; allowed: float32, float16, int8, uint8, int32',
    );
    expect(() => validateFrame({ dtype: 'float32', shape: [1], bytes: [0, 0, 0, 0] }, undefined, 'tensor x')).toThrow(/Uint8Array/);
    expect(() => validateFrame({ dtype: 'float32', shape: [1], bytes: new Float32Array(1) }, undefined, 'tensor x')).toThrow(/Uint8Array/);
    expect(() => validateFrame(good(), { dtype: ['float16', 'int8'], by: 'stage 1' }, 'tensor h')).toThrow(
      'tensor h has dtype float32, stage 1 expects float16 or int8',
    );
    expect(() => validateFrame({ dtype: 'int8', shape: [1], bytes: new Uint8Array(1) }, undefined, 'tensor h')).toThrow(/without a finite scale/);
    expect(() => validateFrame({ ...good(), scale: 1 }, undefined, 'tensor h')).toThrow(/only int8 frames carry one/);
    expect(() => validateFrame({ ...good(), extra: 1 }, undefined, 'tensor h')).toThrow(/unknown field/);
    expect(() => validateFrame(null, undefined, 'tensor h')).toThrow(/is not a tensor frame/);
  });

  it('refuses a rank mismatch even when the sizes multiply out', () => {
    const frame = encodeFrame(new Float32Array(6), [6], 'float32');
    expect(() => validateFrame(frame, { shape: [2, 3] }, 'tensor h')).toThrow('tensor h has shape [6], the receiver expects [2,3]');
  });
});
