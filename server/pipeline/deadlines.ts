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
  code: 'deadline-missed' | 'refused-outputs' | 'not-ready';
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

/**
 * How long a stage rebuilt by a re-plan has to report ready: the time its
 * first batch would get before the stage is given up on (MISSES_TO_LOSE
 * deadlines, from the estimate, at least the floor). Building a stage is
 * tfjs warm-up plus loading a checkpoint, what the floor is sized for.
 */
export function readyWithinMs(st: StageState, config: Pick<CoordinatorConfig, 'deadlineFloorMs' | 'deadlineCapMs'>): number {
  return MISSES_TO_LOSE * deadlineMs(st, config);
}

/**
 * Stages whose device was sent a stage:assign (StageState.assignedAt) and
 * has not reported ready in time: a device that never builds its stage (an
 * error on its side, silence, a bad peer) would otherwise keep the job
 * waiting for ever, since a device building a stage is not expected to beat.
 * A re-plan rebuild, on a device that built a stage before, gets
 * readyWithinMs; any other assignment (job start, recovery, restart) the
 * operator's `readyTimeoutMs`.
 */
export function overdueReadiness(
  stages: StageState[],
  config: Pick<CoordinatorConfig, 'deadlineFloorMs' | 'deadlineCapMs' | 'readyTimeoutMs'>,
  now: number,
): Array<{ st: StageState; fault: StageFault }> {
  const hits: Array<{ st: StageState; fault: StageFault }> = [];
  for (const st of stages) {
    if (st.lost || st.ready || st.assignedAt === null) continue;
    const rebuild = st.rebuildStep !== null;
    const limit = rebuild ? readyWithinMs(st, config) : config.readyTimeoutMs;
    if (now - st.assignedAt < limit) continue;
    const seconds = Math.round(limit) / 1000;
    const message = rebuild
      ? `stage ${st.index} did not become ready within ${seconds} s after re-planning (modules ${st.firstModule}..${st.lastModule} from step ${st.rebuildStep}); the stage is given to another device`
      : `stage ${st.index} (modules ${st.firstModule}..${st.lastModule}) did not report ready within ${seconds} s of its assignment; the stage is given to another device (coordinator --ready-timeout-ms sets the bound)`;
    hits.push({ st, fault: { code: 'not-ready', message } });
  }
  return hits;
}

/** An answer of `st` was refused; a fault once REFUSALS_TO_LOSE came in a row. */
export function refused(st: StageState, reason: string): StageFault | null {
  st.refusedInARow++;
  if (st.refusedInARow < REFUSALS_TO_LOSE) return null;
  return { code: 'refused-outputs', message: `stage ${st.index} sent ${st.refusedInARow} refused answers in a row (last: ${reason}); the stage is given to another device` };
}
