import { stageMemoryBytes, type ModuleCost } from '../../engine/model/cost.js';

/**
 * When and how to re-split a running job's modules from what its stages
 * measure (docs/runtime.md, "Re-planning"). Pure: the pipeline
 * (server/pipeline/rebalance.ts) feeds it measurements and carries out what
 * it proposes.
 */

/** Says whether the device of `stage` can hold modules first..last. */
export type StageFits = (stage: number, first: number, last: number) => boolean;

/**
 * `fits` from the devices' memory, by the planner's rule: modules first..last
 * at `batchSize` need stageMemoryBytes (engine/model/cost.ts), which must not
 * exceed what the stage's device reported. `memoryBytes[stage]` null: not
 * known, no limit.
 */
export function memoryFits(costs: readonly ModuleCost[], batchSize: number, memoryBytes: ReadonlyArray<number | null>): StageFits {
  return (stage, first, last) => {
    const memory = memoryBytes[stage];
    return memory === null || memory === undefined || stageMemoryBytes(costs, first, last, batchSize) <= memory;
  };
}

/** One stage as measured over a window of batches. */
export interface MeasuredStage {
  firstModule: number;
  lastModule: number;
  /** Service time per batch (compute + receiving its input), ms. */
  measuredMs: number;
}

export interface RebalanceRule {
  /** Out of balance: slowest / fastest stage above this (default 1.3). */
  margin: number;
  /** The proposed split must cut the slowest stage's predicted time by at least this fraction (default 0.1). */
  minGain: number;
  /** Consecutive out-of-balance windows before a re-split (default 3). */
  windows: number;
}

export const DEFAULT_REBALANCE_RULE: RebalanceRule = { margin: 1.3, minGain: 0.1, windows: 3 };

export interface RebalanceProposal {
  /** New contiguous ranges, one per stage, same devices in the same order. */
  ranges: Array<{ firstModule: number; lastModule: number }>;
  /** The cost model's time per batch of each new stage, ms. */
  predictedMs: number[];
  reason: string;
}

/**
 * The best re-split of the same modules over the same stages, or null when
 * the stages are balanced within `rule.margin` or no split predicts a gain of
 * `rule.minGain`. Cost model (the planner's): a stage's time is proportional
 * to its modules' FLOPs, at the rate its device measured (measuredMs / FLOPs
 * of its current range). `fits(stage, first, last)` says whether the device
 * of `stage` can hold modules first..last (memory).
 */
export function proposeRebalance(
  stages: readonly MeasuredStage[],
  moduleFlops: readonly number[],
  rule: RebalanceRule = DEFAULT_REBALANCE_RULE,
  fits: StageFits = () => true,
): RebalanceProposal | null {
  const n = stages.length;
  const k = moduleFlops.length;
  if (n < 2 || stages.some((s) => !(s.measuredMs > 0))) return null;
  const times = stages.map((s) => s.measuredMs);
  const slowest = Math.max(...times);
  const fastest = Math.min(...times);
  if (slowest / fastest <= rule.margin) return null;
  const prefix = [0];
  for (const f of moduleFlops) prefix.push(prefix[prefix.length - 1]! + f);
  const flopsOf = (a: number, b: number): number => prefix[b + 1]! - prefix[a]!;
  // ms per FLOP of each stage's device, as measured.
  const rate = stages.map((s) => s.measuredMs / Math.max(flopsOf(s.firstModule, s.lastModule), 1e-9));
  const cost = (s: number, a: number, b: number): number => (fits(s, a, b) ? rate[s]! * flopsOf(a, b) : Infinity);
  // best[s][j]: slowest stage of the best split of modules 0..j-1 over stages 0..s-1, with the split's ends.
  let prev: Array<{ worst: number; ends: number[] } | null> = new Array<{ worst: number; ends: number[] } | null>(k + 1).fill(null);
  prev[0] = { worst: 0, ends: [] };
  for (let s = 1; s <= n; s++) {
    const cur: typeof prev = new Array<{ worst: number; ends: number[] } | null>(k + 1).fill(null);
    for (let j = s; j <= k - (n - s); j++) {
      for (let m = s - 1; m < j; m++) {
        const p = prev[m];
        if (!p) continue;
        const worst = Math.max(p.worst, cost(s - 1, m, j - 1));
        if (Number.isFinite(worst) && (!cur[j] || worst < cur[j]!.worst)) cur[j] = { worst, ends: [...p.ends, j] };
      }
    }
    prev = cur;
  }
  const best = prev[k];
  if (!best || best.worst > slowest * (1 - rule.minGain)) return null;
  const ranges = best.ends.map((end, i) => ({ firstModule: i === 0 ? 0 : best.ends[i - 1]!, lastModule: end - 1 }));
  if (ranges.every((r, i) => r.firstModule === stages[i]!.firstModule && r.lastModule === stages[i]!.lastModule)) return null;
  const predictedMs = ranges.map((r, i) => cost(i, r.firstModule, r.lastModule));
  const ms = (x: number): string => `${Math.round(x)} ms`;
  const reason =
    `stage times ${times.map(ms).join(' / ')} per batch (slowest/fastest ${(slowest / fastest).toFixed(2)} > ${rule.margin}); ` +
    `the split ${ranges.map((r) => `${r.firstModule}..${r.lastModule}`).join(' | ')} is predicted at ${predictedMs.map(ms).join(' / ')}`;
  return { ranges, predictedMs, reason };
}

/**
 * The "sustained" part of the rule: a re-split is proposed only after
 * `rule.windows` consecutive windows each found one (the join-time probe and
 * single batches are noisy); any balanced window starts the count again.
 */
export class RebalanceTracker {
  private outOfBalance = 0;

  constructor(readonly rule: RebalanceRule = DEFAULT_REBALANCE_RULE) {}

  /** One window's measurements; the proposal once it has held for `rule.windows` windows in a row. */
  observe(stages: readonly MeasuredStage[], moduleFlops: readonly number[], fits?: StageFits): RebalanceProposal | null {
    const p = proposeRebalance(stages, moduleFlops, this.rule, fits);
    this.outOfBalance = p ? this.outOfBalance + 1 : 0;
    if (!p || this.outOfBalance < this.rule.windows) return null;
    this.outOfBalance = 0;
    return p;
  }

  /** After a re-split (or a fault): earlier windows measured other ranges. */
  reset(): void {
    this.outOfBalance = 0;
  }
}
