import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { JobEpoch, JobSpec, JobStatus, PlanEntry } from '../../protocol/index.js';
import type { ModelConfig } from '../../engine/model/config.js';

export const FINISHED_STATUSES: readonly JobStatus[] = ['done', 'failed', 'stopped'];

export interface JobRow {
  id: string;
  spec: JobSpec;
  status: JobStatus;
  plan: PlanEntry[];
  modelConfig: ModelConfig | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
}

export interface StepRow {
  stage: number;
  module: number;
  step: number;
  loss: number;
  /** Null where the head cannot classify (supcon). */
  correct: number | null;
  count: number;
}

/** One module trained one global step: written when its stage's answer for that step is accepted (docs/runtime.md, recovery). */
export interface TrainedRow {
  module: number;
  step: number;
  stage: number;
}

export interface CheckpointRow {
  stage: number;
  step: number;
  epoch: number;
  path: string;
  bytes: number;
  /** SHA-256 of the file as received (hex); null for rows of older coordinators. */
  sha256: string | null;
}

interface RawJob {
  id: string;
  spec: string;
  status: string;
  plan: string;
  model_config: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, spec TEXT NOT NULL, status TEXT NOT NULL, plan TEXT NOT NULL DEFAULT '[]',
  model_config TEXT, created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, error TEXT);
CREATE TABLE IF NOT EXISTS epochs (
  job_id TEXT NOT NULL, epoch INTEGER NOT NULL, test_error REAL, module_errors TEXT NOT NULL,
  at INTEGER NOT NULL, PRIMARY KEY (job_id, epoch));
CREATE TABLE IF NOT EXISTS steps (
  job_id TEXT NOT NULL, stage INTEGER NOT NULL, module INTEGER NOT NULL, step INTEGER NOT NULL,
  loss REAL, correct INTEGER, count INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS steps_job ON steps (job_id, module, step);
CREATE TABLE IF NOT EXISTS step_history (
  job_id TEXT NOT NULL, module INTEGER NOT NULL, step INTEGER NOT NULL, stage INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS step_history_job ON step_history (job_id, step);
CREATE TABLE IF NOT EXISTS checkpoints (
  job_id TEXT NOT NULL, stage INTEGER NOT NULL, step INTEGER NOT NULL, epoch INTEGER NOT NULL,
  path TEXT NOT NULL, bytes INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (job_id, stage, step));
`;

/**
 * The coordinator's history in `<dataDir>/contsup.db` (SQLite, WAL): jobs,
 * per-epoch evaluation, (downsampled) per-step metrics and checkpoint files.
 * better-sqlite3 is synchronous; every statement here is a few microseconds.
 */
export class MetricsStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'contsup.db'));
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a crash can lose the last transactions but never corrupts the file.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    const cols = this.db.prepare('PRAGMA table_info(checkpoints)').all() as Array<{ name: string }>;
    // Databases of older coordinators lack the checksum column.
    if (!cols.some((c) => c.name === 'sha256')) this.db.exec('ALTER TABLE checkpoints ADD COLUMN sha256 TEXT');
  }

  /** Jobs a previous coordinator run left waiting, running or paused, in creation order (they are resumed). */
  unfinishedJobs(): JobRow[] {
    return this.listJobs().filter((j) => !FINISHED_STATUSES.includes(j.status));
  }

  insertJob(row: JobRow): void {
    this.db
      .prepare('INSERT INTO jobs (id, spec, status, plan, model_config, created_at, started_at, finished_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(row.id, JSON.stringify(row.spec), row.status, JSON.stringify(row.plan), row.modelConfig ? JSON.stringify(row.modelConfig) : null, row.createdAt, row.startedAt, row.finishedAt, row.error);
  }

  updateJob(id: string, patch: Partial<Pick<JobRow, 'status' | 'plan' | 'modelConfig' | 'startedAt' | 'finishedAt' | 'error'>>): void {
    const sets: string[] = [];
    const values: unknown[] = [];
    const put = (col: string, v: unknown): void => {
      sets.push(`${col} = ?`);
      values.push(v);
    };
    if (patch.status !== undefined) put('status', patch.status);
    if (patch.plan !== undefined) put('plan', JSON.stringify(patch.plan));
    if (patch.modelConfig !== undefined) put('model_config', patch.modelConfig ? JSON.stringify(patch.modelConfig) : null);
    if (patch.startedAt !== undefined) put('started_at', patch.startedAt);
    if (patch.finishedAt !== undefined) put('finished_at', patch.finishedAt);
    if (patch.error !== undefined) put('error', patch.error);
    if (sets.length === 0) return;
    this.db.prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
  }

  getJob(id: string): JobRow | undefined {
    const raw = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as RawJob | undefined;
    return raw ? toJobRow(raw) : undefined;
  }

  listJobs(): JobRow[] {
    return (this.db.prepare('SELECT * FROM jobs ORDER BY created_at, id').all() as RawJob[]).map(toJobRow);
  }

  insertEpoch(jobId: string, e: JobEpoch): void {
    this.db
      .prepare('INSERT OR REPLACE INTO epochs (job_id, epoch, test_error, module_errors, at) VALUES (?, ?, ?, ?, ?)')
      .run(jobId, e.epoch, e.testError, JSON.stringify(e.moduleErrors), e.at);
  }

  /** A rollback: evaluations of epochs after `epoch` were of weights that were undone. */
  dropEpochsAfter(jobId: string, epoch: number): void {
    this.db.prepare('DELETE FROM epochs WHERE job_id = ? AND epoch > ?').run(jobId, epoch);
  }

  listEpochs(jobId: string): JobEpoch[] {
    const rows = this.db.prepare('SELECT epoch, test_error, module_errors, at FROM epochs WHERE job_id = ? ORDER BY epoch').all(jobId) as Array<{
      epoch: number;
      test_error: number | null;
      module_errors: string;
      at: number;
    }>;
    return rows.map((r) => ({ epoch: r.epoch, testError: r.test_error, moduleErrors: JSON.parse(r.module_errors) as Array<number | null>, at: r.at }));
  }

  insertSteps(jobId: string, rows: StepRow[]): void {
    const stmt = this.db.prepare('INSERT INTO steps (job_id, stage, module, step, loss, correct, count) VALUES (?, ?, ?, ?, ?, ?, ?)');
    // NaN/Infinity losses are stored as NULL (SQLite has no NaN).
    this.db.transaction(() => {
      for (const r of rows) stmt.run(jobId, r.stage, r.module, r.step, Number.isFinite(r.loss) ? r.loss : null, r.correct, r.count);
    })();
  }

  listSteps(jobId: string): Array<StepRow & { loss: number | null }> {
    return this.db.prepare('SELECT stage, module, step, loss, correct, count FROM steps WHERE job_id = ? ORDER BY step, module').all(jobId) as Array<
      StepRow & { loss: number | null }
    >;
  }

  /** Modules first..last of `stage` trained `step`. */
  insertTrained(jobId: string, stage: number, firstModule: number, lastModule: number, step: number): void {
    const stmt = this.db.prepare('INSERT INTO step_history (job_id, module, step, stage, at) VALUES (?, ?, ?, ?, ?)');
    const at = Date.now();
    this.db.transaction(() => {
      for (let m = firstModule; m <= lastModule; m++) stmt.run(jobId, m, step, stage, at);
    })();
  }

  /** The step history of a job, by step then module (a rolled-back step appears once, from after the rollback). */
  listTrained(jobId: string): TrainedRow[] {
    return this.db.prepare('SELECT module, step, stage FROM step_history WHERE job_id = ? ORDER BY step, module, rowid').all(jobId) as TrainedRow[];
  }

  /** A rollback to `step`: the training of steps from `step` on was undone, so its history goes too. */
  dropTrainedFrom(jobId: string, step: number): number {
    return this.db.prepare('DELETE FROM step_history WHERE job_id = ? AND step >= ?').run(jobId, step).changes;
  }

  insertCheckpoint(jobId: string, c: CheckpointRow): void {
    this.db
      .prepare('INSERT OR REPLACE INTO checkpoints (job_id, stage, step, epoch, path, bytes, sha256, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(jobId, c.stage, c.step, c.epoch, c.path, c.bytes, c.sha256, Date.now());
  }

  /** Checkpoints of one stage, newest first. */
  listCheckpoints(jobId: string, stage: number): CheckpointRow[] {
    return this.db.prepare('SELECT stage, step, epoch, path, bytes, sha256 FROM checkpoints WHERE job_id = ? AND stage = ? ORDER BY step DESC').all(jobId, stage) as CheckpointRow[];
  }

  deleteCheckpoint(jobId: string, stage: number, step: number): void {
    this.db.prepare('DELETE FROM checkpoints WHERE job_id = ? AND stage = ? AND step = ?').run(jobId, stage, step);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toJobRow(r: RawJob): JobRow {
  return {
    id: r.id,
    spec: JSON.parse(r.spec) as JobSpec,
    status: r.status as JobStatus,
    plan: JSON.parse(r.plan) as PlanEntry[],
    modelConfig: r.model_config ? (JSON.parse(r.model_config) as ModelConfig) : null,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
  };
}
