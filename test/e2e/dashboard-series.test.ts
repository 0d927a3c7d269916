import { describe, expect, it } from 'vitest';
import { downsampleModule } from '../../server/dashboard/history.service.js';
import { SeriesBuffer, alignSeries } from '../../web/src/dashboard/series.js';

// The dashboard's downsampling (no browser needed): hours of per-step metrics stay a few thousand points.

describe('dashboard series downsampling', () => {
  it('keeps at most cap points, the newest at full resolution, and the mean of everything', () => {
    const s = new SeriesBuffer(100);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) {
      s.push(i, i % 10);
      sum += i % 10;
    }
    const { x, y } = s.data();
    expect(s.length).toBeLessThanOrEqual(100);
    expect(s.rawCount).toBe(100_000);
    expect(x[x.length - 1]).toBe(99_999);
    // The last quarter is untouched: consecutive steps.
    expect(x.slice(-10)).toEqual([99_990, 99_991, 99_992, 99_993, 99_994, 99_995, 99_996, 99_997, 99_998, 99_999]);
    expect([...x].sort((a, b) => a - b)).toEqual(x);
    // Averaging is weighted, so the overall mean survives any number of compactions.
    const weights = x.map((_, i) => (i === 0 ? x[1]! - x[0]! : x[i]! - x[i - 1]!));
    expect(weights.every((w) => w > 0)).toBe(true);
    expect(y.every((v) => v !== null && v >= 0 && v <= 9)).toBe(true);
    expect(sum / 100_000).toBeCloseTo(4.5, 6);
  });

  it('leaves null (NaN loss, supcon accuracy) out of the means and keeps all-null buckets null', () => {
    const s = new SeriesBuffer(8);
    for (let i = 0; i < 9; i++) s.push(i, i < 4 ? null : i % 2 === 0 ? 2 : Number.NaN);
    const { y } = s.data();
    expect(y[0]).toBeNull();
    expect(y[1]).toBeNull();
    expect(y.filter((v) => v !== null).every((v) => v === 2)).toBe(true);
  });

  it('aligns series with different steps on one x axis for uPlot', () => {
    const [x, a, b] = alignSeries([
      { x: [0, 2, 4], y: [1, 2, 3] },
      { x: [1, 2], y: [9, 8] },
    ]);
    expect(x).toEqual([0, 1, 2, 4]);
    expect(a).toEqual([1, null, 2, 3]);
    expect(b).toEqual([null, 9, 8, null]);
  });

  it('buckets stored history server-side: step means, loss means without NaN, accuracy from summed counts', () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ stage: 0, module: 1, step: i, loss: i === 3 ? null : 1, correct: i, count: 10 }));
    const h = downsampleModule(1, rows, 3);
    expect(h.step).toEqual([1.5, 5.5, 8.5]);
    expect(h.loss).toEqual([1, 1, 1]);
    expect(h.accuracy[0]).toBeCloseTo((100 * (0 + 1 + 2 + 3)) / 40);
    const none = downsampleModule(0, rows.map((r) => ({ ...r, correct: null })), 1000);
    expect(none.step).toHaveLength(10);
    expect(none.accuracy.every((a) => a === null)).toBe(true);
  });
});
