import type { JobDetail, JobEpoch, JobSummary } from '../../protocol/index.js';
import type { JobRunner } from '../pipeline/job-runner.js';
import type { JobRow } from '../storage/metrics.store.js';

/** Live jobs come from their runner, older ones from the database row. */
export function summaryOf(row: JobRow, runner: JobRunner | undefined, epochs: JobEpoch[]): JobSummary {
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

export function detailOf(row: JobRow, runner: JobRunner | undefined, epochs: JobEpoch[]): JobDetail {
  return {
    ...summaryOf(row, runner, epochs),
    plan: runner && runner.stages.length > 0 ? runner.plan() : row.plan,
    stages: runner?.stageViews() ?? [],
    epochs,
    events: runner ? [...runner.events] : [],
    cuts: runner?.cutViews() ?? [],
    relayedTensorBytes: runner?.relayedTensorBytes ?? 0,
    replans: runner ? [...runner.replans] : [],
    ...(runner?.model?.classNames ? { classNames: runner.model.classNames } : {}),
  };
}
