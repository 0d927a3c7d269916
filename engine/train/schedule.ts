/**
 * Learning-rate schedules. The in-process trainer and the coordinator's feeder
 * both call `scheduledLr`, so a distributed run steps with the same rates.
 *
 * - `cosine-step` (contsup's default): cosine from lr to 0 over all steps,
 *   re-evaluated every step.
 * - `cosine-epoch`: the same curve held constant within an epoch, evaluated at
 *   the epoch index (0-based), so the first epoch runs at lr.
 * - `release`: the authors' `adjust_learning_rate(optimizer, epoch + 1)`: set
 *   once per epoch e = 1..E, cosine over `cosineEpochs` (the release's 160
 *   unless the recipe says otherwise), blended linearly from 0.01 into the
 *   cosine during the first 10 epochs:
 *     e <= 10: cos(e) * (e - 1) / 10 + 0.01 * (11 - e) / 10
 *     e > 10:  cos(e),  where cos(e) = lr / 2 * (1 + cos(pi * e / cosineEpochs))
 */
// The names live in the job spec's recipe (protocol), so a REST body and the CLI accept the same ones.
import { LR_SCHEDULE_NAMES, type LrScheduleName } from '../../protocol/job-recipe.js';
export { LR_SCHEDULE_NAMES, type LrScheduleName };

export interface LrSchedule {
  name: LrScheduleName;
  /** Epochs the cosine spans (release only); defaults to the run's epochs. */
  cosineEpochs?: number;
}

export const DEFAULT_LR_SCHEDULE: LrSchedule = { name: 'cosine-step' };

export interface LrPoint {
  /** Global step, from 0. */
  step: number;
  totalSteps: number;
  /** Epoch of this step, from 1. */
  epoch: number;
  epochs: number;
}

/** Cosine decay from lr0 to 0 over `total` steps, evaluated per step. */
export function cosineLr(lr0: number, step: number, total: number): number {
  if (total <= 0) return lr0;
  return 0.5 * lr0 * (1 + Math.cos((Math.PI * Math.min(step, total)) / total));
}

/** The release's per-epoch rate for epoch e (1-based), with its 10-epoch warm-up from 0.01. */
export function releaseLr(lr0: number, epoch: number, cosineEpochs: number): number {
  const cos = 0.5 * lr0 * (1 + Math.cos((Math.PI * epoch) / cosineEpochs));
  if (epoch <= 10) return (cos * (epoch - 1)) / 10 + (0.01 * (11 - epoch)) / 10;
  return cos;
}

export function scheduledLr(lr0: number, schedule: LrSchedule, at: LrPoint): number {
  switch (schedule.name) {
    case 'cosine-step':
      return cosineLr(lr0, at.step, at.totalSteps);
    case 'cosine-epoch':
      return cosineLr(lr0, at.epoch - 1, at.epochs);
    case 'release':
      return releaseLr(lr0, at.epoch, schedule.cosineEpochs ?? at.epochs);
    default: {
      const never: never = schedule.name;
      throw new Error(`unknown lr schedule "${String(never)}": use one of ${LR_SCHEDULE_NAMES.join(', ')}`);
    }
  }
}

/**
 * The schedule a recipe or job spec names (same field names); per-step cosine
 * when it names none. Here, not in recipe.ts, because the coordinator's feeder
 * uses it and must not load tfjs.
 */
export function scheduleFor(r: { lrSchedule?: LrScheduleName; cosineEpochs?: number }): LrSchedule {
  if (r.lrSchedule === undefined) return DEFAULT_LR_SCHEDULE;
  return r.cosineEpochs === undefined ? { name: r.lrSchedule } : { name: r.lrSchedule, cosineEpochs: r.cosineEpochs };
}

export function parseLrSchedule(name: string): LrScheduleName {
  if (!(LR_SCHEDULE_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown lr schedule "${name}": use one of ${LR_SCHEDULE_NAMES.join(', ')}`);
  }
  return name as LrScheduleName;
}
