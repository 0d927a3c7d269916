import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../server/common/token-bucket.js';

describe('TokenBucket', () => {
  it('spends its burst, refuses beyond it, and refills at its rate', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 5, () => now);
    for (let i = 0; i < 5; i++) expect(bucket.take(1)).toBe(true);
    expect(bucket.take(1)).toBe(false);
    now = 100; // 0.1 s at 10/s: one token back
    expect(bucket.take(1)).toBe(true);
    expect(bucket.take(1)).toBe(false);
    now = 10_000; // never more than the burst
    expect(bucket.take(6)).toBe(false);
    expect(bucket.take(5)).toBe(true);
  });
});
