import { describe, expect, it } from 'vitest';
import { float16ArrayToFloat32, float16BitsToFloat32, float32ArrayToFloat16, float32ToFloat16Bits } from '../../protocol/float16.js';

describe('float16 conversion', () => {
  it('encodes landmark values to their IEEE half bit patterns', () => {
    expect(float32ToFloat16Bits(0)).toBe(0x0000);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(0.5)).toBe(0x3800);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff); // largest finite half
    expect(float32ToFloat16Bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
  });

  it('rounds to nearest with ties to even, in normal and subnormal range', () => {
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3 * 2^-11 lies halfway between mantissas 1 and 2: goes to 2.
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    // Just above halfway rounds up.
    expect(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    // 2^-25 is halfway between 0 and the smallest subnormal: ties to even (0).
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000);
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(0x0002);
    expect(float32ToFloat16Bits(2 ** -26)).toBe(0x0000);
    // Rounding up out of the largest subnormal reaches the smallest normal.
    expect(float32ToFloat16Bits(2 ** -14 - 2 ** -26)).toBe(0x0400);
  });

  it('overflows to infinity and keeps infinities and NaN', () => {
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff); // below the rounding boundary
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // halfway to 2^16 rounds to inf
    expect(float32ToFloat16Bits(1e10)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-1e10)).toBe(0xfc00);
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
    const nan = float32ToFloat16Bits(NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
    expect(float16BitsToFloat32(nan)).toBeNaN();
  });

  it('decodes every one of the 65536 halves and re-encodes it to the same bits', () => {
    const bits = new Uint16Array(0x10000);
    for (let h = 0; h < 0x10000; h++) bits[h] = h;
    const values = float16ArrayToFloat32(bits);
    const back = float32ArrayToFloat16(values);
    for (let h = 0; h < 0x10000; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaN) {
        expect(Number.isNaN(values[h]!)).toBe(true);
      } else if (back[h] !== h) {
        throw new Error(`half 0x${h.toString(16)} -> ${values[h]} -> 0x${back[h]!.toString(16)}`);
      }
    }
  });

  it('keeps random normal-range values within half an ulp (2^-11 relative)', () => {
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const values = new Float32Array(10_000).map(() => (rand() - 0.5) * 2 * 10 ** (rand() * 8 - 4));
    const decoded = float16ArrayToFloat32(float32ArrayToFloat16(values));
    let worst = 0; // error as a multiple of the allowed bound
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      const bound = Math.abs(v) >= 2 ** -14 ? Math.abs(v) * 2 ** -11 : 2 ** -25;
      worst = Math.max(worst, Math.abs(decoded[i]! - v) / bound);
    }
    expect(worst).toBeLessThanOrEqual(1);
    expect(worst).toBeGreaterThan(0.5); // the sample really exercises rounding
  });
});
