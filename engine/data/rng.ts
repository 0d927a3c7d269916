/**
 * Tiny deterministic PRNG helpers shared by the data pipeline.
 *
 * Everything here uses only 32-bit integer ops (Math.imul, >>>) so the same
 * seed yields the same stream in every JS engine, browser or Node; the
 * distributed runtime relies on a device re-deriving exactly the crops and
 * shuffles the coordinator computed.
 */

/** Returns a mulberry32 generator producing floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Mixes several integers into one 32-bit seed. Seeds above 2^32 keep their
 * high word (so 1 and 2^32+1 differ); fractional parts are dropped.
 */
export function hashSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const raw of parts) {
    const p = Math.floor(raw);
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    h = fmix32((h ^ lo) + Math.imul(hi, 0x27d4eb2f));
  }
  return h;
}

/** Integer in [0, n) from a generator. */
export function randInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}
