import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Whether a secret someone sent equals the expected one. Both are hashed
 * first, so the comparison takes the same time whatever their lengths and
 * wherever they first differ.
 */
export function tokensMatch(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}
