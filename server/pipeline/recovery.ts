import type { CheckpointStore } from '../storage/checkpoint.store.js';
import type { MetricsStore } from '../storage/metrics.store.js';
import { checkCheckpoint } from './checkpoint-checks.js';
import type { FeedCursor } from './feed-cursor.js';
import type { StageState } from './stage-state.js';

/** What a rollback needs of a job (JobLifecycle gives it). */
export interface RollbackJob {
  readonly id: string;
  readonly stages: StageState[];
  readonly cursor: FeedCursor;
  readonly metrics: MetricsStore;
  readonly checkpoints: CheckpointStore;
  /** Records a job event (a skipped checkpoint). */
  note(code: string, st: StageState, message: string): void;
  /** Sends `stage:assign` to the stage's device: these weights (fresh when undefined), training from `step`. */
  sendAssign(st: StageState, weights: Uint8Array<ArrayBuffer> | undefined, step: number): void;
}

/** A step every stage can be restored to, with each stage's checkpoint of it (undefined: fresh weights, step 0). */
export interface RecoveryPoint {
  step: number;
  weights: Array<Uint8Array<ArrayBuffer> | undefined>;
}

/**
 * The newest step every stage has a checkpoint of that reads back intact and
 * passes the receipt checks (each one skipped is a `bad-checkpoint` event);
 * step 0 with fresh weights (seeded by the job, identical everywhere) when
 * there is none. All stages checkpoint after the same steps (the feeder's
 * `checkpointAfter` travels with the batch), so such a step normally exists.
 */
export async function newestConsistentPoint(job: RollbackJob): Promise<RecoveryPoint> {
  const rows = job.stages.map((st) => job.checkpoints.list(job.id, st.index));
  const steps = [...new Set(rows.flatMap((r) => r.map((c) => c.step)))].filter((step) => rows.every((r) => r.some((c) => c.step === step))).sort((a, b) => b - a);
  for (const step of steps) {
    const weights: Array<Uint8Array<ArrayBuffer>> = [];
    for (const st of job.stages) {
      const row = rows[st.index]!.find((c) => c.step === step)!;
      try {
        const bytes = await job.checkpoints.read(row);
        checkCheckpoint(bytes, { stage: st.index, firstModule: st.firstModule, lastModule: st.lastModule, step });
        weights.push(bytes);
      } catch (err: unknown) {
        job.note('bad-checkpoint', st, `checkpoint ${row.path} cannot be used, falling back to an older step: ${err instanceof Error ? err.message : String(err)}`);
        break;
      }
    }
    if (weights.length === job.stages.length) return { step, weights };
  }
  return { step: 0, weights: job.stages.map(() => undefined) };
}

/**
 * Rolls the whole pipeline back to the newest consistent step S
 * (docs/runtime.md, recovery): every stage, lost or not, is re-assigned with
 * its checkpoint of S; feeding resumes at S; the step history, the stored
 * evaluations and the checkpoints after S are dropped (that training is
 * undone). Afterwards every module has trained each step below S exactly
 * once and will train each later one once more. The caller's stages must all
 * hold a device; `current()` is asked after every wait, and a false answer (a
 * new fault, the job ended) abandons the rollback before anything is sent.
 * Returns S, or null when abandoned.
 */
export async function rollBackPipeline(job: RollbackJob, current: () => boolean): Promise<number | null> {
  const point = await newestConsistentPoint(job);
  if (!current()) return null;
  // Before any stage trains again: a later checkpoint of the new run reuses these file names.
  for (const st of job.stages) await job.checkpoints.dropAfter(job.id, st.index, point.step);
  if (!current()) return null;
  restorePipeline(job, point);
  return point.step;
}

/** The synchronous part of a rollback: counters, cursor, history, assignments. */
function restorePipeline(job: RollbackJob, point: RecoveryPoint): void {
  const { step } = point;
  const per = job.cursor.feeder.batchesPerEpoch;
  const epochsTrained = Math.floor(step / per);
  job.metrics.dropTrainedFrom(job.id, step);
  job.metrics.dropEpochsAfter(job.id, epochsTrained);
  const evaluated = job.metrics.listEpochs(job.id).some((e) => e.epoch === epochsTrained);
  job.cursor.rollTo(step, evaluated);
  for (const st of job.stages) {
    st.clearTraffic();
    st.ready = false;
    st.fedUpTo = step - 1;
    st.lastCheckpointStep = point.weights[st.index] ? step : null;
    job.sendAssign(st, point.weights[st.index], step);
  }
}
