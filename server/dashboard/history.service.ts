import { Inject, Injectable } from '@nestjs/common';
import type { ModuleHistory, StepHistory } from '../../protocol/index.js';
import { NotFoundError } from '../common/errors.js';
import { MetricsStore, type StepRow } from '../storage/metrics.store.js';

/** A stored step row: losses that were NaN/Infinity come back as null (SQLite has no NaN). */
export type StoredStep = Omit<StepRow, 'loss'> & { loss: number | null };

/** Points per module a history answer carries at most (the dashboard draws ~1000 px). */
const DEFAULT_POINTS = 1000;
const MAX_POINTS = 10_000;

/**
 * Averages consecutive rows into at most `points` buckets (weighted by
 * count): hours of steps stay a small answer and a fast chart. Losses that
 * were NaN/Infinity (stored as null) are left out of their bucket's mean.
 */
export function downsampleModule(module: number, rows: StoredStep[], points: number): ModuleHistory {
  const out: ModuleHistory = { module, step: [], loss: [], accuracy: [] };
  const per = Math.max(1, Math.ceil(rows.length / Math.max(1, points)));
  for (let i = 0; i < rows.length; i += per) {
    const bucket = rows.slice(i, i + per);
    let stepSum = 0;
    let lossSum = 0;
    let lossN = 0;
    let correct = 0;
    let count = 0;
    for (const r of bucket) {
      stepSum += r.step;
      if (r.loss !== null) {
        lossSum += r.loss;
        lossN++;
      }
      if (r.correct !== null) {
        correct += r.correct;
        count += r.count;
      }
    }
    out.step.push(stepSum / bucket.length);
    out.loss.push(lossN > 0 ? lossSum / lossN : null);
    out.accuracy.push(count > 0 ? (100 * correct) / count : null);
  }
  return out;
}

/** Stored per-step metrics for the dashboard's curves. */
@Injectable()
export class HistoryService {
  constructor(@Inject(MetricsStore) private readonly metrics: MetricsStore) {}

  /** `pointsParam` is the raw query value; anything but a positive integer means the default. */
  steps(id: string, pointsParam: string | undefined): StepHistory {
    if (!this.metrics.getJob(id)) throw new NotFoundError(`job ${id} does not exist; GET /api/jobs lists the jobs`);
    const asked = pointsParam === undefined ? DEFAULT_POINTS : Number(pointsParam);
    const points = Number.isInteger(asked) && asked >= 1 ? Math.min(asked, MAX_POINTS) : DEFAULT_POINTS;
    const byModule = new Map<number, StoredStep[]>();
    for (const row of this.metrics.listSteps(id) as StoredStep[]) {
      let list = byModule.get(row.module);
      if (!list) byModule.set(row.module, (list = []));
      list.push(row);
    }
    const modules = [...byModule.keys()].sort((a, b) => a - b).map((m) => downsampleModule(m, byModule.get(m)!, points));
    return { jobId: id, modules };
  }
}
