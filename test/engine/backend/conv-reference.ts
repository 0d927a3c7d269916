// Straightforward float64 reference for NHWC conv2d gradients, independent of tfjs.

export interface RefConv {
  x: Float32Array; // [b, h, w, ci]
  w: Float32Array; // [kh, kw, ci, co]
  dy: Float32Array; // [b, oh, ow, co]
  b: number;
  h: number;
  wd: number;
  ci: number;
  co: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  stride: number;
  padTop: number;
  padLeft: number;
}

/** Visits every (input, kernel, output) triple of the convolution once. */
function forEachTap(c: RefConv, visit: (xi: number, wi: number, yi: number) => void): void {
  for (let n = 0; n < c.b; n++) {
    for (let i = 0; i < c.oh; i++) {
      for (let u = 0; u < c.kh; u++) {
        const r = i * c.stride + u - c.padTop;
        if (r < 0 || r >= c.h) continue;
        for (let j = 0; j < c.ow; j++) {
          for (let v = 0; v < c.kw; v++) {
            const col = j * c.stride + v - c.padLeft;
            if (col < 0 || col >= c.wd) continue;
            visit(((n * c.h + r) * c.wd + col) * c.ci, (u * c.kw + v) * c.ci * c.co, ((n * c.oh + i) * c.ow + j) * c.co);
          }
        }
      }
    }
  }
}

export function refFilterGrad(c: RefConv): Float64Array {
  const dw = new Float64Array(c.kh * c.kw * c.ci * c.co);
  forEachTap(c, (xi, wi, yi) => {
    for (let a = 0; a < c.ci; a++) {
      const xv = c.x[xi + a];
      for (let o = 0; o < c.co; o++) dw[wi + a * c.co + o] += xv * c.dy[yi + o];
    }
  });
  return dw;
}

export function refInputGrad(c: RefConv): Float64Array {
  const dx = new Float64Array(c.b * c.h * c.wd * c.ci);
  forEachTap(c, (xi, wi, yi) => {
    for (let a = 0; a < c.ci; a++) {
      let s = 0;
      for (let o = 0; o < c.co; o++) s += c.w[wi + a * c.co + o] * c.dy[yi + o];
      dx[xi + a] += s;
    }
  });
  return dx;
}

/** Largest |a - b| relative to the largest |b| (robust where single entries are near 0). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** Deterministic values in [-1, 1) so that runs (and failures) reproduce. */
export function seededValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}
