/**
 * A growing (x, y) series with a bounded number of points: when it holds
 * more than `cap`, the oldest three quarters are halved by averaging
 * neighbours (weighted by how many raw points each already stands for).
 * Recent points stay at full resolution, older ones get coarser, so hours
 * of per-step metrics stay a few thousand points and charts stay fast.
 * Null y values (a loss that was NaN, a head that cannot classify) are
 * kept out of the means; a bucket of only nulls stays null.
 */
export class SeriesBuffer {
  private xs: number[] = [];
  private ys: Array<number | null> = [];
  /** Raw points behind each point (x weight). */
  private ws: number[] = [];
  /** Raw non-null y values behind each point (y weight). */
  private yw: number[] = [];
  private raw = 0;

  constructor(readonly cap = 2000) {
    if (!(cap >= 8)) throw new Error(`SeriesBuffer: cap must be at least 8, got ${cap}`);
  }

  get length(): number {
    return this.xs.length;
  }

  /** Raw points pushed so far (before any averaging). */
  get rawCount(): number {
    return this.raw;
  }

  get lastX(): number | undefined {
    return this.xs[this.xs.length - 1];
  }

  /** Appends a point that already stands for `weight` raw points (e.g. a bucket of stored history). */
  push(x: number, y: number | null, weight = 1): void {
    const ok = y !== null && Number.isFinite(y);
    this.xs.push(x);
    this.ys.push(ok ? y : null);
    this.ws.push(weight);
    this.yw.push(ok ? weight : 0);
    this.raw += weight;
    if (this.xs.length > this.cap) this.compact();
  }

  /** Copies of the points, x ascending as pushed. */
  data(): { x: number[]; y: Array<number | null> } {
    return { x: [...this.xs], y: [...this.ys] };
  }

  private compact(): void {
    const old = Math.floor((this.xs.length * 3) / 4) & ~1;
    const xs: number[] = [];
    const ys: Array<number | null> = [];
    const ws: number[] = [];
    const yw: number[] = [];
    for (let i = 0; i < old; i += 2) {
      const w = this.ws[i]! + this.ws[i + 1]!;
      const a = this.yw[i]!;
      const b = this.yw[i + 1]!;
      xs.push((this.xs[i]! * this.ws[i]! + this.xs[i + 1]! * this.ws[i + 1]!) / w);
      ys.push(a + b > 0 ? ((this.ys[i] ?? 0) * a + (this.ys[i + 1] ?? 0) * b) / (a + b) : null);
      ws.push(w);
      yw.push(a + b);
    }
    this.xs = xs.concat(this.xs.slice(old));
    this.ys = ys.concat(this.ys.slice(old));
    this.ws = ws.concat(this.ws.slice(old));
    this.yw = yw.concat(this.yw.slice(old));
  }
}

/**
 * Aligns several series on the union of their x values (what uPlot wants:
 * one x array, one y array per series, null where a series has no point).
 */
export function alignSeries(series: Array<{ x: number[]; y: Array<number | null> }>): [number[], ...Array<Array<number | null>>] {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const col: Array<number | null> = new Array<number | null>(xs.length).fill(null);
    s.x.forEach((x, i) => (col[index.get(x)!] = s.y[i] ?? null));
    return col;
  });
  return [xs, ...ys];
}
