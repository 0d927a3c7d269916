import type * as tf from '@tensorflow/tfjs-core';
import { subPixelAxis, subPixelFilter, type ConvGeometry, type SubPixelAxis } from './conv-geometry.js';
import type { KernelOps } from './kernel-ops.js';

// Both conv gradients of an NHWC convolution, expressed through the backend's fast
// forward Conv2D (and cheap layout kernels). Every function returns a fresh temporary
// of `ops`; the caller keeps the one it returns.

const isPointwise = (g: ConvGeometry): boolean =>
  g.kh === 1 && g.kw === 1 && g.padTop === 0 && g.padBottom === 0 && g.padLeft === 0 && g.padRight === 0 &&
  // dy then covers exactly the positions 0, s, 2s, ... of x.
  g.outH === Math.ceil(g.inH / g.sh) && g.outW === Math.ceil(g.inW / g.sw);

/**
 * dw[u,v,ci,co] = sum_{b,i,j} xpad[b, s*i+u, s*j+v, ci] * dy[b,i,j,co]: a convolution
 * with the batch as channels and the channels as batch, dy as a stride-dilated filter.
 */
export function filterGradient(ops: KernelOps, x: tf.TensorInfo, dy: tf.TensorInfo, g: ConvGeometry): tf.TensorInfo {
  if (isPointwise(g)) return pointwiseFilterGradient(ops, x, dy, g);
  const xT = ops.permute(x, [3, 1, 2, 0]); // [inC, H, W, B]
  const dyT = ops.permute(dy, [1, 2, 0, 3]); // [outH, outW, B, outC]
  // Pad only as far as the last kernel row reaches; extra rows just get sliced off.
  const padBottom = Math.max(0, g.kh + (g.outH - 1) * g.sh - g.inH - g.padTop);
  const padRight = Math.max(0, g.kw + (g.outW - 1) * g.sw - g.inW - g.padLeft);
  let r = ops.conv2d(xT, dyT, [g.padTop, padBottom], [g.padLeft, padRight], [g.sh, g.sw]);
  if (r.shape[1] !== g.kh || r.shape[2] !== g.kw) r = ops.slice(r, [0, 0, 0, 0], [g.inC, g.kh, g.kw, g.outC]);
  return ops.permute(r, [1, 2, 0, 3]);
}

/**
 * The same dw as one matrix product over shifted copies of x (im2col):
 * [kh*kw*inC, outC] = patches^T . dy. For GPU backends: their matMul splits the
 * long reduction (batch x positions) across workgroups, their conv kernels do
 * not, so the conv form above leaves a GPU with a handful of busy workgroups.
 */
export function patchFilterGradient(ops: KernelOps, x: tf.TensorInfo, dy: tf.TensorInfo, g: ConvGeometry): tf.TensorInfo {
  if (isPointwise(g)) return pointwiseFilterGradient(ops, x, dy, g);
  const n = g.batch * g.outH * g.outW;
  // The last tap's rows reach (kh - 1) + outH * sh: pad that far (slices drop the rest).
  const padBottom = Math.max(0, g.kh - 1 + g.outH * g.sh - g.inH - g.padTop);
  const padRight = Math.max(0, g.kw - 1 + g.outW * g.sw - g.inW - g.padLeft);
  const xpad = ops.pad(x, [[0, 0], [g.padTop, padBottom], [g.padLeft, padRight], [0, 0]]);
  const taps: tf.TensorInfo[] = [];
  for (let u = 0; u < g.kh; u++) {
    for (let v = 0; v < g.kw; v++) {
      const shifted = ops.slice(xpad, [0, u, v, 0], [g.batch, g.outH * g.sh, g.outW * g.sw, g.inC]);
      // Rows u, u + sh, ...: one plain slice of a reshape, as in subsample().
      const cells = ops.reshape(shifted, [g.batch * g.outH, g.sh, g.outW, g.sw * g.inC]);
      const strided = g.sh === 1 && g.sw === 1 ? shifted : ops.slice(cells, [0, 0, 0, 0], [g.batch * g.outH, 1, g.outW, g.inC]);
      taps.push(ops.reshape(strided, [n, g.inC]));
    }
  }
  const patches = ops.concat(taps, 1); // [n, kh*kw*inC], tap-major like the filter's layout
  const prod = ops.matMul(patches, ops.reshape(dy, [n, g.outC]), true, false);
  return ops.reshape(prod, [g.kh, g.kw, g.inC, g.outC]);
}

/** 1x1 without padding: dw = x[:, ::s, ::s, :]^T . dy as one matrix product. */
function pointwiseFilterGradient(ops: KernelOps, x: tf.TensorInfo, dy: tf.TensorInfo, g: ConvGeometry): tf.TensorInfo {
  const n = g.batch * g.outH * g.outW;
  const a = ops.reshape(subsample(ops, x, g), [n, g.inC]);
  const prod = ops.matMul(a, ops.reshape(dy, [n, g.outC]), true, false);
  return ops.reshape(prod, [1, 1, g.inC, g.outC]);
}

/** x at rows/cols 0, s, 2s, ...: padded to a multiple of s, then one plain slice of a reshape. */
function subsample(ops: KernelOps, x: tf.TensorInfo, g: ConvGeometry): tf.TensorInfo {
  if (g.sh === 1 && g.sw === 1) return x;
  const h = g.outH * g.sh;
  const w = g.outW * g.sw;
  const even = h === g.inH && w === g.inW ? x : ops.pad(x, [[0, 0], [0, h - g.inH], [0, w - g.inW], [0, 0]]);
  const cells = ops.reshape(even, [g.batch * g.outH, g.sh, g.outW, g.sw * g.inC]);
  return ops.slice(cells, [0, 0, 0, 0], [g.batch * g.outH, 1, g.outW, g.inC]);
}

/** dx as a stride-1 conv of dy producing all stride phases as channels, then interleaved. */
export function inputGradient(ops: KernelOps, dy: tf.TensorInfo, w: tf.TensorInfo, g: ConvGeometry): tf.TensorInfo {
  if (isPointwise(g)) return pointwiseInputGradient(ops, dy, w, g);
  const rows = subPixelAxis(g.inH, g.outH, g.kh, g.sh, g.padTop);
  const cols = subPixelAxis(g.inW, g.outW, g.kw, g.sw, g.padLeft);
  if (rows.dyUsed <= 0 || cols.dyUsed <= 0) return ops.zeros([g.batch, g.inH, g.inW, g.inC]);
  const filter = ops.fromValues(subPixelFilter(ops.read(w), g, rows, cols), [rows.taps, cols.taps, g.outC, g.sh * g.sw * g.inC]);
  const used = rows.dyUsed < g.outH || cols.dyUsed < g.outW
    ? ops.slice(dy, [0, 0, 0, 0], [g.batch, rows.dyUsed, cols.dyUsed, g.outC])
    : dy;
  const phases = ops.conv2d(used, filter, [rows.padBefore, rows.padAfter], [cols.padBefore, cols.padAfter]);
  const full = g.sh * g.sw === 1 ? phases : interleave(ops, phases, g, rows, cols);
  return crop(ops, full, g);
}

/** [B, Qh, Qw, sh*sw*C] -> [B, Qh*sh, Qw*sw, C], phase (ph, pw) going to row s*q+ph. */
function interleave(ops: KernelOps, z: tf.TensorInfo, g: ConvGeometry, rows: SubPixelAxis, cols: SubPixelAxis): tf.TensorInfo {
  // Not DepthToSpace: on wasm it is ~25x slower than this transpose (rank 4 once merged).
  const split = ops.reshape(z, [g.batch * rows.phaseRows, cols.phaseRows, g.sh, g.sw, g.inC]);
  const moved = ops.permute(split, [0, 2, 1, 3, 4]);
  return ops.reshape(moved, [g.batch, rows.phaseRows * g.sh, cols.phaseRows * g.sw, g.inC]);
}

function crop(ops: KernelOps, t: tf.TensorInfo, g: ConvGeometry): tf.TensorInfo {
  if (t.shape[1] === g.inH && t.shape[2] === g.inW) return t;
  return ops.slice(t, [0, 0, 0, 0], [g.batch, g.inH, g.inW, g.inC]);
}

/** 1x1 without padding: dy . w^T, then spread onto every s-th position (zeros between). */
function pointwiseInputGradient(ops: KernelOps, dy: tf.TensorInfo, w: tf.TensorInfo, g: ConvGeometry): tf.TensorInfo {
  const n = g.batch * g.outH * g.outW;
  const prod = ops.matMul(ops.reshape(dy, [n, g.outC]), ops.reshape(w, [g.inC, g.outC]), false, true);
  if (g.sh === 1 && g.sw === 1) return crop(ops, ops.reshape(prod, [g.batch, g.outH, g.outW, g.inC]), g);
  const cells = ops.reshape(prod, [g.batch * g.outH, 1, g.outW, 1, g.inC]);
  const spaced = ops.pad(cells, [[0, 0], [0, g.sh - 1], [0, 0], [0, g.sw - 1], [0, 0]]);
  return crop(ops, ops.reshape(spaced, [g.batch, g.outH * g.sh, g.outW * g.sw, g.inC]), g);
}
