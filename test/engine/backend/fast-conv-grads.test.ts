import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { patchFilterGradient } from '../../../engine/backend/conv-grad-math.js';
import { convGeometry } from '../../../engine/backend/conv-geometry.js';
import { hasFastConvGradients, registerFastConvGradients } from '../../../engine/backend/fast-conv-grads.js';
import { KernelOps } from '../../../engine/backend/kernel-ops.js';
import { ensureGradients } from '../../../engine/backend/gradients.js';
import { refFilterGrad, refInputGrad, relError, seededValues, type RefConv } from './conv-reference.js';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
type Backend = 'wasm' | 'cpu';

interface Case {
  name: string;
  b: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  s: number;
  pad: Pad;
}

const SYM1: Pad = [[0, 0], [1, 1], [1, 1], [0, 0]]; // the models' 3x3 padding (PyTorch padding=1)
const conv = (name: string, b: number, h: number, w: number, ci: number, co: number, k: number, s: number, pad: Pad): Case =>
  ({ name, b, h, w, ci, co, k, s, pad });

// Every conv shape the models use, plus odd sizes and the other padding forms.
const CASES: Case[] = [
  conv('stem 3x3 s1 3->16 on 32x32', 3, 32, 32, 3, 16, 3, 1, SYM1),
  conv('3x3 s1 16->16 on 16x16', 3, 16, 16, 16, 16, 3, 1, SYM1),
  conv('decoder 3x3 s1 12->3 on 28x28', 2, 28, 28, 12, 3, 3, 1, SYM1),
  conv('3x3 s2 16->32 on 32x32', 3, 32, 32, 16, 32, 3, 2, SYM1),
  conv('3x3 s2 16->32 on 28x28', 3, 28, 28, 16, 32, 3, 2, SYM1),
  conv('3x3 s2 32->64 on 16x16', 3, 16, 16, 32, 64, 3, 2, SYM1),
  conv('3x3 s2 32->64 on 7x7 (odd input)', 3, 7, 7, 32, 64, 3, 2, SYM1),
  conv('3x3 s2 8->12 on 7x9 (odd, not square)', 3, 7, 9, 8, 12, 3, 2, SYM1),
  conv('head 3x3 s1 64->64 on 8x8', 3, 8, 8, 64, 64, 3, 1, SYM1),
  conv('head 3x3 s1 64->64 on 7x7', 1, 7, 7, 64, 64, 3, 1, SYM1),
  conv('projection 1x1 s2 16->32 on 32x32', 3, 32, 32, 16, 32, 1, 2, 'valid'),
  conv('projection 1x1 s2 32->64 on 16x16', 3, 16, 16, 32, 64, 1, 2, 'valid'),
  conv('projection 1x1 s2 32->64 on 7x7 (odd input)', 3, 7, 7, 32, 64, 1, 2, 'valid'),
  conv('context encoder 1x1 s1 16->32 on 8x8', 3, 8, 8, 16, 32, 1, 1, 'valid'),
  conv("3x3 s2 'same' on 8x8 (pads bottom/right only)", 3, 8, 8, 5, 7, 3, 2, 'same'),
  conv("3x3 s2 'same' on 7x7", 3, 7, 7, 5, 7, 3, 2, 'same'),
  conv("3x3 s2 'valid' on 8x8 (last row unused)", 3, 8, 8, 5, 7, 3, 2, 'valid'),
  conv("3x3 s1 'valid' on 8x6", 3, 8, 6, 5, 7, 3, 1, 'valid'),
  conv('3x3 s2 numeric pad 1 on 9x9', 3, 9, 9, 5, 7, 3, 2, 1),
  conv('3x3 s2 asymmetric explicit pad on 8x8', 2, 8, 8, 5, 7, 3, 2, [[0, 0], [0, 1], [2, 0], [0, 0]]),
  conv('1x1 s2 with pad 1 (generic path)', 2, 6, 6, 5, 7, 1, 2, 1),
  conv('5x5 s1 same', 2, 9, 9, 4, 6, 5, 1, 'same'),
  conv('3x3 s3 on 10x10 (stride 3)', 2, 10, 10, 4, 6, 3, 3, SYM1),
];

function padOf(c: Case): { top: number; left: number; oh: number; ow: number } {
  const out = (n: number, before: number, after: number): number => Math.floor((n + before + after - c.k) / c.s) + 1;
  if (c.pad === 'valid') return { top: 0, left: 0, oh: Math.ceil((c.h - c.k + 1) / c.s), ow: Math.ceil((c.w - c.k + 1) / c.s) };
  if (c.pad === 'same') {
    const oh = Math.ceil(c.h / c.s);
    const ow = Math.ceil(c.w / c.s);
    const top = Math.floor(Math.max(0, (oh - 1) * c.s + c.k - c.h) / 2);
    const left = Math.floor(Math.max(0, (ow - 1) * c.s + c.k - c.w) / 2);
    return { top, left, oh, ow };
  }
  if (typeof c.pad === 'number') return { top: c.pad, left: c.pad, oh: out(c.h, c.pad, c.pad), ow: out(c.w, c.pad, c.pad) };
  const [, [t, bt], [l, r]] = c.pad;
  return { top: t, left: l, oh: out(c.h, t, bt), ow: out(c.w, l, r) };
}

function refConv(c: Case, seed: number): RefConv {
  const { top, left, oh, ow } = padOf(c);
  return {
    x: seededValues(c.b * c.h * c.w * c.ci, seed),
    w: seededValues(c.k * c.k * c.ci * c.co, seed + 1),
    dy: seededValues(c.b * oh * ow * c.co, seed + 2),
    b: c.b, h: c.h, wd: c.w, ci: c.ci, co: c.co, kh: c.k, kw: c.k, oh, ow, stride: c.s, padTop: top, padLeft: left,
  };
}

/** dx and dw through autodiff of tf.conv2d, with dy as the upstream gradient. */
async function gradients(backend: Backend, c: Case, r: RefConv): Promise<{ dx: Float32Array; dw: Float32Array }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(r.x, [c.b, c.h, c.w, c.ci]);
    const w = tf.tensor4d(r.w, [c.k, c.k, c.ci, c.co]);
    const dy = tf.tensor4d(r.dy, [c.b, r.oh, r.ow, c.co]);
    const [dx, dw] = tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad))([x, w], dy);
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

const TOL = 1e-4;
const STOCK_CASES = [CASES[6], CASES[12], CASES[14]];
const stock = new Map<string, { dx: Float32Array; dw: Float32Array }>();

beforeAll(async () => {
  await ensureGradients();
  // The cpu backend's own kernels, computed before ours replace them.
  for (const c of STOCK_CASES) stock.set(c.name, await gradients('cpu', c, refConv(c, 7)));
  registerFastConvGradients('wasm');
  registerFastConvGradients('cpu');
});

describe.each<Backend>(['wasm', 'cpu'])('fast conv gradients on %s', (backend) => {
  it('replaces both conv gradient kernels', () => {
    expect(hasFastConvGradients(backend)).toBe(true);
  });

  it.each(CASES)('matches the reference filter and input gradients for $name', async (c) => {
    const r = refConv(c, 7);
    const { dx, dw } = await gradients(backend, c, r);
    expect(relError(dw, refFilterGrad(r))).toBeLessThan(TOL);
    expect(relError(dx, refInputGrad(r))).toBeLessThan(TOL);
  });

  it.each(STOCK_CASES)('agrees with the stock cpu kernels for $name', async (c) => {
    const { dx, dw } = await gradients(backend, c, refConv(c, 7));
    const ref = stock.get(c.name);
    expect(relError(dw, ref?.dw ?? [])).toBeLessThan(TOL);
    expect(relError(dx, ref?.dx ?? [])).toBeLessThan(TOL);
  });

  it('frees every temporary across repeated gradient calls', async () => {
    await tf.setBackend(backend);
    const c = CASES[6];
    const r = refConv(c, 3);
    const x = tf.tensor4d(r.x, [c.b, c.h, c.w, c.ci]);
    const w = tf.tensor4d(r.w, [c.k, c.k, c.ci, c.co]);
    const step = (): void => {
      const [dx, dw] = tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad)))([x, w]);
      dx.dataSync();
      tf.dispose([dx, dw]);
    };
    step();
    const before = { ...tf.memory(), dataIds: tf.engine().backend.numDataIds() };
    for (let i = 0; i < 4; i++) step();
    const after = { ...tf.memory(), dataIds: tf.engine().backend.numDataIds() };
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    // Kernel temporaries bypass the engine: only the backend's own count sees them.
    expect(after.dataIds).toBe(before.dataIds);
    tf.dispose([x, w]);
  });
});

// webgpu's filter gradient (an im2col matrix product), run here on the cpu backend's kernels.
describe('the im2col filter gradient', () => {
  it.each(CASES)('matches the reference filter gradient for $name', async (c) => {
    await tf.setBackend('cpu');
    const r = refConv(c, 11);
    const x = tf.tensor4d(r.x, [c.b, c.h, c.w, c.ci]);
    const dy = tf.tensor4d(r.dy, [c.b, r.oh, r.ow, c.co]);
    const g = convGeometry(x.shape, [c.k, c.k, c.ci, c.co], dy.shape, [c.s, c.s], c.pad, 'NHWC');
    const ops = new KernelOps('cpu', tf.backend());
    try {
      const dw = patchFilterGradient(ops, x, dy, g);
      expect(dw.shape).toEqual([c.k, c.k, c.ci, c.co]);
      expect(relError(ops.read(dw) as Float32Array, refFilterGrad(r))).toBeLessThan(TOL);
    } finally {
      ops.disposeTemps();
      tf.dispose([x, dy]);
    }
  });
});

describe('the comparison', () => {
  it('rejects gradients with a swapped axis or a one-pixel shift', async () => {
    const c = CASES[7]; // 7x9, so height/width mix-ups change the numbers
    const r = refConv(c, 11);
    const { dx, dw } = await gradients('wasm', c, r);
    const dwSwapped = tf.tidy(() => tf.transpose(tf.tensor4d(dw, [3, 3, c.ci, c.co]), [1, 0, 2, 3]).dataSync());
    const dxShifted = new Float32Array(dx.length);
    dxShifted.set(dx.subarray(c.ci)); // one column to the left
    expect(relError(dwSwapped, refFilterGrad(r))).toBeGreaterThan(1e-2);
    expect(relError(dxShifted, refInputGrad(r))).toBeGreaterThan(1e-2);
  });

  it('handles NCHW on the cpu backend by the same kernels', async () => {
    const c = CASES[7];
    const r = refConv(c, 5);
    await tf.setBackend('cpu');
    const [dx, dw] = tf.tidy(() => {
      const x = tf.transpose(tf.tensor4d(r.x, [c.b, c.h, c.w, c.ci]), [0, 3, 1, 2]);
      const w = tf.tensor4d(r.w, [3, 3, c.ci, c.co]);
      const dy = tf.transpose(tf.tensor4d(r.dy, [c.b, r.oh, r.ow, c.co]), [0, 3, 1, 2]);
      const pad: Pad = [[0, 0], [0, 0], [1, 1], [1, 1]];
      const g = tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 2, pad, 'NCHW'))([x, w], dy);
      return [tf.transpose(g[0], [0, 2, 3, 1]).dataSync(), g[1].dataSync()];
    });
    expect(relError(dw, refFilterGrad(r))).toBeLessThan(TOL);
    expect(relError(dx, refInputGrad(r))).toBeLessThan(TOL);
  });

  it("handles dimRoundingMode 'ceil' (an extra, partly outside output row) on the cpu backend", async () => {
    const c = conv('3x3 s2 pad 0 ceil', 2, 8, 8, 3, 4, 3, 2, 0);
    const r = { ...refConv(c, 13), oh: 4, ow: 4 };
    r.dy = seededValues(c.b * 4 * 4 * c.co, 14);
    await tf.setBackend('cpu');
    const [dx, dw] = tf.tidy(() => {
      const x = tf.tensor4d(r.x, [c.b, 8, 8, c.ci]);
      const w = tf.tensor4d(r.w, [3, 3, c.ci, c.co]);
      const dy = tf.tensor4d(r.dy, [c.b, 4, 4, c.co]);
      const g = tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 2, 0, 'NHWC', 1, 'ceil'))([x, w], dy);
      return [g[0].dataSync(), g[1].dataSync()];
    });
    expect(relError(dw, refFilterGrad(r))).toBeLessThan(TOL);
    expect(relError(dx, refInputGrad(r))).toBeLessThan(TOL);
  });

  it('registers idempotently', () => {
    const before = tf.getKernel('Conv2DBackpropFilter', 'wasm').kernelFunc;
    registerFastConvGradients('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm').kernelFunc).toBe(before);
  });
});
