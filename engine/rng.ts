/**
 * The one seeded PRNG of the engine (mulberry32), for weights, shuffles,
 * crops and synthetic images.
 *
 * Everything here uses only 32-bit integer ops (Math.imul, >>>) so the same
 * seed yields the same stream in every JS engine, browser or Node; the
 * distributed runtime relies on a device re-deriving exactly the crops and
 * shuffles the coordinator computed, and on every device drawing the same
 * initial weights as the in-process trainer.
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

/**
 * Seeded numbers for initial weights. Weights are drawn here, not with
 * tf.random*, so the same seed gives bit-identical initial weights on every
 * backend and every device: the distributed runtime and the in-process
 * trainer must start from the same point.
 */
export class Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number;
  private spare: number | null = null;

  constructor(seed: number) {
    // The golden-ratio offset keeps weight streams apart from data streams of the same seed.
    this.next = mulberry32((seed >>> 0) ^ 0x9e3779b9);
  }

  /** Standard normal via Box-Muller (the second value is cached). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  normalArray(n: number, std: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal() * std;
    return out;
  }

  uniformArray(n: number, bound: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (this.next() * 2 - 1) * bound;
    return out;
  }
}

/** Derives an independent seed for a named part, so adding a part elsewhere never shifts another's weights. */
export function deriveSeed(seed: number, name: string): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
