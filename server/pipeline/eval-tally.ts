import type { ModuleStat } from '../../protocol/index.js';

interface ModuleSum {
  correct: number;
  count: number;
  lossSum: number;
  /** False once any batch reports correct = null (a supcon head). */
  classifies: boolean;
}

/**
 * Sums `stage:eval` reports of one epoch over the test set, once per
 * (stage, batch), into the in-process trainer's EvalReport numbers: the
 * network's test error (last module) and each local head's.
 */
export class EvalTally {
  private readonly seen = new Set<string>();
  private readonly sums = new Map<number, ModuleSum>();

  /** Adds one stage's report for one batch; false when that batch was counted already. */
  add(stage: number, batchId: number, modules: ModuleStat[]): boolean {
    const key = `${stage}:${batchId}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    for (const m of modules) {
      const s = this.sums.get(m.module) ?? { correct: 0, count: 0, lossSum: 0, classifies: true };
      if (m.correct === null) s.classifies = false;
      else s.correct += m.correct;
      s.count += m.count;
      if (Number.isFinite(m.loss)) s.lossSum += m.loss * m.count;
      this.sums.set(m.module, s);
    }
    return true;
  }

  /** Percent error of `module`, null when it never classified or reported nothing. */
  error(module: number): number | null {
    const s = this.sums.get(module);
    if (!s || !s.classifies || s.count === 0) return null;
    return 100 * (1 - s.correct / s.count);
  }

  /** testError of the last module and moduleErrors of modules 0..K-2. */
  result(moduleCount: number): { testError: number | null; moduleErrors: Array<number | null> } {
    return {
      testError: this.error(moduleCount - 1),
      moduleErrors: Array.from({ length: moduleCount - 1 }, (_, m) => this.error(m)),
    };
  }
}
