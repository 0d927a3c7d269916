import type { CoordinatorConfig } from '../config.js';
import type { StageState } from './stage-state.js';

/** A measured stage gets this many times its smoothed time per batch. */
export const MEASURED_FACTOR = 5;
/** Before any answer, the planner's estimate times this (estimates can be far off; the floor covers a slow first step). */
export const ESTIMATE_FACTOR = 4;
/** Deadlines missed in a row before the stage is treated as lost. */
export const MISSES_TO_LOSE = 2;
/** Answers refused in a row before the stage is treated as lost. */
export const REFUSALS_TO_LOSE = 3;

/** How long a stage has for its oldest in-flight batch (docs/runtime.md, deadlines). */
export function deadlineMs(st: StageState, config: Pick<CoordinatorConfig, 'deadlineFloorMs' | 'deadlineCapMs'>): number {
  const base = st.measuredMs !== null ? st.measuredMs * MEASURED_FACTOR : st.estimatedMs * ESTIMATE_FACTOR;
  return Math.min(config.deadlineCapMs, Math.max(config.deadlineFloorMs, base));
}

/** Why a stage is given up on, for the device's `error` and the job's events. */
export interface StageFault {
  code: 'deadline-missed' | 'refused-outputs';
  message: string;
}

/**
 * Checks the stages of a running job against their deadlines: each miss is
 * counted (and restarts the clock), MISSES_TO_LOSE in a row make a fault.
 * Returns the stages to give up on, with why.
 */
export function overdue(stages: StageState[], config: Pick<CoordinatorConfig, 'deadlineFloorMs' | 'deadlineCapMs'>, now: number): Array<{ st: StageState; fault: StageFault | null }> {
  const hits: Array<{ st: StageState; fault: StageFault | null }> = [];
  for (const st of stages) {
    if (st.lost || !st.ready) continue;
    const since = st.owedSince();
    if (since === null) continue;
    const limit = deadlineMs(st, config);
    if (now - since < limit) continue;
    st.missed(now);
    const lost = st.missedInARow >= MISSES_TO_LOSE;
    hits.push({
      st,
      fault: lost ? { code: 'deadline-missed', message: `stage ${st.index} answered no batch within its deadline of ${limit} ms ${st.missedInARow} times in a row; the stage is given to another device` } : null,
    });
  }
  return hits;
}

/** An answer of `st` was refused; a fault once REFUSALS_TO_LOSE came in a row. */
export function refused(st: StageState, reason: string): StageFault | null {
  st.refusedInARow++;
  if (st.refusedInARow < REFUSALS_TO_LOSE) return null;
  return { code: 'refused-outputs', message: `stage ${st.index} sent ${st.refusedInARow} refused answers in a row (last: ${reason}); the stage is given to another device` };
}
