/**
 * A small, learnable, fully deterministic 32x32x3 10-class image set for
 * offline runs and tests.
 *
 * Each class is a stripe pattern with a class-specific orientation (18 deg
 * apart), frequency (3 levels) and a tinted foreground colour. Every sample
 * jitters orientation/frequency, draws a random phase (shift), contrast,
 * background colour and brightness, overlays a random-colour blob as a
 * distractor and adds per-value noise, so a small ResNet learns it well above
 * chance from a few hundred samples without it being trivial.
 *
 * Only +, -, *, /, floor, sqrt and 32-bit integer ops are used (no Math.sin,
 * Math.exp): those are exactly specified by IEEE 754 / ECMAScript, so the same
 * seed gives identical bytes in every engine.
 */
import type { Dataset, ImageSet } from './dataset.js';
import { preprocessFor } from './dataset.js';
import { hashSeed, mulberry32 } from '../rng.js';

export interface SyntheticOptions {
  seed: number;
  trainCount: number;
  testCount: number;
}

const SIZE = 32;
const CHANNELS = 3;
const NUM_CLASSES = 10;

// cos/sin of k*pi/10 as literals (not Math.cos) to keep generation bit-exact.
const C1 = 0.9510565162951535;
const C2 = 0.8090169943749475;
const C3 = 0.5877852522924731;
const C4 = 0.3090169943749474;
const DIRECTIONS: ReadonlyArray<readonly [number, number]> = [
  [1, 0], [C1, C4], [C2, C3], [C3, C2], [C4, C1],
  [0, 1], [-C4, C1], [-C3, C2], [-C2, C3], [-C1, C4],
];

/** Stripe cycles across the image, indexed by class % 3. */
const CYCLES = [2.0, 3.0, 4.5];

const PALETTE: ReadonlyArray<readonly [number, number, number]> = [
  [0.9, 0.2, 0.2], [0.2, 0.8, 0.2], [0.2, 0.3, 0.9], [0.9, 0.85, 0.2], [0.85, 0.2, 0.85],
  [0.2, 0.85, 0.85], [0.95, 0.55, 0.1], [0.5, 0.2, 0.7], [0.95, 0.95, 0.95], [0.55, 0.35, 0.2],
];

/** Smooth periodic bump in [0,1] for p in [0,1): 16 p^2 (1-p)^2, C1 at the wrap. */
function bump(u: number): number {
  const p = u - Math.floor(u);
  const q = p * (1 - p);
  return 16 * q * q;
}

function writeSample(out: Uint8Array, offset: number, label: number, rand: () => number): void {
  // Rotate the class direction by a small random angle via the rational
  // parametrisation cos = (1-t^2)/(1+t^2), sin = 2t/(1+t^2).
  const t = (rand() - 0.5) * 0.14;
  const cosJ = (1 - t * t) / (1 + t * t);
  const sinJ = (2 * t) / (1 + t * t);
  const [dx0, dy0] = DIRECTIONS[label];
  const dirX = dx0 * cosJ - dy0 * sinJ;
  const dirY = dx0 * sinJ + dy0 * cosJ;
  const freq = (CYCLES[label % 3] * (0.9 + 0.2 * rand())) / SIZE;
  const phase = rand();
  const contrast = 0.5 + 0.5 * rand();
  const brightness = (rand() - 0.5) * 0.2;

  const fg = new Float64Array(CHANNELS);
  const bg = new Float64Array(CHANNELS);
  const blobColour = new Float64Array(CHANNELS);
  for (let ch = 0; ch < CHANNELS; ch++) {
    fg[ch] = 0.65 * PALETTE[label][ch] + 0.35 * rand();
    bg[ch] = 0.6 * rand();
    blobColour[ch] = rand();
  }
  const blobX = rand() * SIZE;
  const blobY = rand() * SIZE;
  const blobR = 4 + 5 * rand();
  const blobR2 = blobR * blobR;

  const centre = (SIZE - 1) / 2;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const s = bump(((x - centre) * dirX + (y - centre) * dirY) * freq + phase) * contrast;
      const ddx = x - blobX;
      const ddy = y - blobY;
      const d2 = ddx * ddx + ddy * ddy;
      const k = d2 < blobR2 ? 1 - d2 / blobR2 : 0;
      const alpha = 0.7 * k * k;
      const o = offset + (y * SIZE + x) * CHANNELS;
      for (let ch = 0; ch < CHANNELS; ch++) {
        let v = bg[ch] + (fg[ch] - bg[ch]) * s;
        v = v * (1 - alpha) + blobColour[ch] * alpha;
        v += brightness + (rand() + rand() - 1) * 0.12;
        const b = Math.floor(v * 255 + 0.5);
        out[o + ch] = b < 0 ? 0 : b > 255 ? 255 : b;
      }
    }
  }
}

function generateSplit(seed: number, split: number, count: number): ImageSet {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`generateSynthetic: sample counts must be non-negative integers, got ${count}`);
  }
  const size = SIZE * SIZE * CHANNELS;
  const images = new Uint8Array(count * size);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    // Labels cycle 0..9 so any prefix (see subset()) is class-balanced.
    const label = i % NUM_CLASSES;
    labels[i] = label;
    // One stream per sample: sample i is the same whatever the split's size.
    writeSample(images, i * size, label, mulberry32(hashSeed(seed, split, i)));
  }
  return { images, labels, count, height: SIZE, width: SIZE, channels: CHANNELS };
}

/** Builds the synthetic set; same seed => identical bytes everywhere. */
export function generateSynthetic(opts: SyntheticOptions): Dataset {
  return {
    name: 'synthetic',
    numClasses: NUM_CLASSES,
    train: generateSplit(opts.seed, 1, opts.trainCount),
    test: generateSplit(opts.seed, 2, opts.testCount),
    preprocess: preprocessFor('synthetic'),
  };
}
