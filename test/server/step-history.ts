import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface TrainedStep {
  module: number;
  step: number;
  stage: number;
}

/** The step history of a job (`step_history` in `<dataDir>/contsup.db`), read-only. */
export function storedHistory(dataDir: string, jobId: string): TrainedStep[] {
  const db = new Database(join(dataDir, 'contsup.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT module, step, stage FROM step_history WHERE job_id = ? ORDER BY step, module').all(jobId) as TrainedStep[];
  } finally {
    db.close();
  }
}

/**
 * Every (module, step) of modules 0..modules-1 and steps 0..totalSteps-1 that
 * the history does not hold exactly once, as "m<module> s<step> x<count>";
 * empty when every module trained every step exactly once.
 */
export function historyFaults(history: TrainedStep[], modules: number, totalSteps: number): string[] {
  const counts = new Map<string, number>();
  for (const r of history) counts.set(`${r.module}:${r.step}`, (counts.get(`${r.module}:${r.step}`) ?? 0) + 1);
  const out: string[] = [];
  for (let m = 0; m < modules; m++) {
    for (let s = 0; s < totalSteps; s++) {
      const n = counts.get(`${m}:${s}`) ?? 0;
      if (n !== 1) out.push(`m${m} s${s} x${n}`);
    }
  }
  for (const r of history) if (r.module >= modules || r.step >= totalSteps) out.push(`m${r.module} s${r.step} out of range`);
  return out;
}
