import type { JobSpec } from '../../protocol/index.js';
import type { JobProgress, JobRunner } from '../pipeline/job-runner.js';
import type { StageView } from '../pipeline/stage-state.js';
import type { EpochRow, JobRow, JobStatus, PlanEntry } from '../storage/metrics.store.js';

/** A job in `GET /api/jobs`. */
export interface JobSummary {
  id: string;
  status: JobStatus;
  spec: JobSpec;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  /** Why a waiting or paused job is not running (null otherwise). */
  waitingFor: string | null;
  epochsDone: number;
  /** Null for jobs of an earlier coordinator run (no live state). */
  progress: JobProgress | null;
}

/** A job in `GET /api/jobs/:id`. */
export interface JobDetail extends JobSummary {
  plan: PlanEntry[];
  /** Live per-stage counters; empty for jobs of an earlier coordinator run. */
  stages: StageView[];
  epochs: EpochRow[];
}

/** Live jobs come from their runner, older ones from the database row. */
export function summaryOf(row: JobRow, runner: JobRunner | undefined, epochs: EpochRow[]): JobSummary {
  return {
    id: row.id,
    status: runner?.status ?? row.status,
    spec: row.spec,
    createdAt: row.createdAt,
    startedAt: runner?.startedAt ?? row.startedAt,
    finishedAt: runner?.finishedAt ?? row.finishedAt,
    error: runner ? runner.error : row.error,
    waitingFor: runner && !runner.finished ? runner.waitingFor : null,
    epochsDone: epochs.length,
    progress: runner?.progress() ?? null,
  };
}

export function detailOf(row: JobRow, runner: JobRunner | undefined, epochs: EpochRow[]): JobDetail {
  return {
    ...summaryOf(row, runner, epochs),
    plan: runner && runner.stages.length > 0 ? runner.plan() : row.plan,
    stages: runner?.stageViews() ?? [],
    epochs,
  };
}
