import { describe, expect, it } from 'vitest';
import { memoryFits, proposeRebalance, RebalanceTracker, type MeasuredStage } from '../../server/planner/rebalance-policy.js';

const equalFlops = [1, 1, 1, 1];
const stages = (split: Array<[number, number, number]>): MeasuredStage[] => split.map(([firstModule, lastModule, measuredMs]) => ({ firstModule, lastModule, measuredMs }));

describe('proposeRebalance', () => {
  it('leaves stages within the margin alone', () => {
    expect(proposeRebalance(stages([[0, 1, 1000], [2, 3, 1250]]), equalFlops)).toBeNull();
  });

  it('moves a module from a slow stage to its fast neighbour', () => {
    // Both devices equally fast per module, but the split is 3:1: 3000 ms against 1000 ms.
    const p = proposeRebalance(stages([[0, 2, 3000], [3, 3, 1000]]), equalFlops);
    expect(p?.ranges).toEqual([{ firstModule: 0, lastModule: 1 }, { firstModule: 2, lastModule: 3 }]);
    expect(p?.predictedMs).toEqual([2000, 2000]);
    expect(p?.reason).toMatch(/slowest\/fastest 3\.00 > 1\.3/);
  });

  it('gives a slow device fewer modules even when the split is even', () => {
    // Device 0 takes 4x as long per module: the best split leaves it one module.
    const p = proposeRebalance(stages([[0, 1, 8000], [2, 3, 2000]]), equalFlops);
    expect(p?.ranges).toEqual([{ firstModule: 0, lastModule: 0 }, { firstModule: 1, lastModule: 3 }]);
    expect(p?.predictedMs).toEqual([4000, 3000]);
  });

  it('weighs modules by their FLOPs', () => {
    // Module 0 is as costly as the three others together.
    const p = proposeRebalance(stages([[0, 1, 4000], [2, 3, 2000]]), [3, 1, 1, 1]);
    expect(p?.ranges).toEqual([{ firstModule: 0, lastModule: 0 }, { firstModule: 1, lastModule: 3 }]);
  });

  it('proposes nothing when no split gains enough', () => {
    // 1 module each: nothing can move although the times differ 2x.
    expect(proposeRebalance(stages([[0, 0, 2000], [1, 1, 1000]]), [1, 1])).toBeNull();
  });

  it('never gives a device modules that do not fit its memory', () => {
    const five = [1, 1, 1, 1, 1];
    // Unconstrained, 2:3 and 3:2 tie; stage 1's device holds 2 modules at most.
    const p = proposeRebalance(stages([[0, 3, 4000], [4, 4, 1000]]), five, undefined, (s, a, b) => s !== 1 || b - a <= 1);
    expect(p?.ranges).toEqual([{ firstModule: 0, lastModule: 2 }, { firstModule: 3, lastModule: 4 }]);
    // Holding only the one module it has, nothing can move to it.
    expect(proposeRebalance(stages([[0, 3, 4000], [4, 4, 1000]]), five, undefined, (s, a, b) => s !== 1 || a === b)).toBeNull();
  });

  it('keeps every stage at least one module, over three stages', () => {
    const p = proposeRebalance(stages([[0, 3, 4000], [4, 4, 1000], [5, 5, 1000]]), [1, 1, 1, 1, 1, 1]);
    expect(p?.ranges).toEqual([{ firstModule: 0, lastModule: 1 }, { firstModule: 2, lastModule: 3 }, { firstModule: 4, lastModule: 5 }]);
  });
});

describe('RebalanceTracker', () => {
  it('proposes only after the imbalance held for the set number of windows in a row', () => {
    const t = new RebalanceTracker({ margin: 1.3, minGain: 0.1, windows: 3 });
    const skewed = stages([[0, 2, 3000], [3, 3, 1000]]);
    const balanced = stages([[0, 2, 3000], [3, 3, 2800]]);
    expect(t.observe(skewed, equalFlops)).toBeNull();
    expect(t.observe(skewed, equalFlops)).toBeNull();
    expect(t.observe(balanced, equalFlops)).toBeNull();
    expect(t.observe(skewed, equalFlops)).toBeNull();
    expect(t.observe(skewed, equalFlops)).toBeNull();
    expect(t.observe(skewed, equalFlops)?.ranges).toHaveLength(2);
    // The count starts again after a proposal.
    expect(t.observe(skewed, equalFlops)).toBeNull();
  });
});

describe('memoryFits', () => {
  // Four equal modules of 100 B state and 1000 B of activations per sample: at batch 2 a range needs 100 B per module + 2000 B.
  const costs = equalFlops.map(() => ({ forwardFlops: 1, stateBytes: 100, activationBytesPerSample: 1000 }));
  const skewed = stages([[0, 2, 3000], [3, 3, 1000]]);

  it('measures a range as the planner does: its state plus the largest activations times the batch', () => {
    const fits = memoryFits(costs, 2, [2300, 2100]);
    expect(fits(0, 0, 2)).toBe(true);
    expect(fits(0, 0, 3)).toBe(false);
    expect(fits(1, 3, 3)).toBe(true);
    expect(fits(1, 2, 3)).toBe(false);
    // A device the coordinator no longer knows sets no limit.
    expect(memoryFits(costs, 2, [null, null])(1, 0, 3)).toBe(true);
  });

  it('keeps the rule from proposing a split that overfills a device', () => {
    // Unchecked, the best split moves module 2 onto stage 1's device.
    expect(proposeRebalance(skewed, equalFlops)?.ranges).toEqual([{ firstModule: 0, lastModule: 1 }, { firstModule: 2, lastModule: 3 }]);
    // That device holds one module (2100 B) but not two (2200 B): nothing is proposed.
    expect(proposeRebalance(skewed, equalFlops, undefined, memoryFits(costs, 2, [null, 2100]))).toBeNull();
    const tracker = new RebalanceTracker({ margin: 1.3, minGain: 0.1, windows: 1 });
    expect(tracker.observe(skewed, equalFlops, memoryFits(costs, 2, [null, 2100]))).toBeNull();
    // With room for two it is.
    expect(tracker.observe(skewed, equalFlops, memoryFits(costs, 2, [null, 2200]))?.ranges[1]).toEqual({ firstModule: 2, lastModule: 3 });
  });
});
