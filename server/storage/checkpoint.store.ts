import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { CheckpointRow, MetricsStore } from './metrics.store.js';

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Steps that every stage has a checkpoint of kept per job (a rollback goes
 * back to the newest of them, older ones are its fallback); checkpoints
 * older than the oldest kept such step are deleted once newer ones are safely
 * on disk.
 */
export const KEEP_CHECKPOINTS = 3;
/** A stage never keeps more than this many, whatever the others have (a stage whose peers never checkpoint). */
export const MAX_CHECKPOINTS_PER_STAGE = 24;

/**
 * Stage checkpoints as opaque files `<dataDir>/jobs/<jobId>/stage-<s>-step-<step>.ckpt`,
 * written to a .tmp file and renamed so a crash never leaves a torn checkpoint
 * under the final name; each one is recorded in SQLite.
 */
export class CheckpointStore {
  constructor(
    private readonly dataDir: string,
    private readonly metrics: MetricsStore,
  ) {}

  jobDir(jobId: string): string {
    return join(this.dataDir, 'jobs', jobId);
  }

  /** Stores stage `stage`'s checkpoint of `step`; `stageCount` (the job's stages) decides what older ones may go. */
  async save(jobId: string, stage: number, epoch: number, step: number, weights: Uint8Array, stageCount: number): Promise<CheckpointRow> {
    const dir = this.jobDir(jobId);
    await mkdir(dir, { recursive: true });
    const path = join(dir, `stage-${stage}-step-${step}.ckpt`);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, weights);
    await rename(tmp, path);
    const row: CheckpointRow = { stage, step, epoch, path, bytes: weights.byteLength, sha256: sha256(weights) };
    this.metrics.insertCheckpoint(jobId, row);
    await this.prune(jobId, stageCount);
    return row;
  }

  /** The newest checkpoint of a stage, or undefined when it never sent one. */
  latest(jobId: string, stage: number): CheckpointRow | undefined {
    return this.metrics.listCheckpoints(jobId, stage)[0];
  }

  /** Checkpoints of a stage, newest first (a stage falls back to an older one when the newest cannot be used). */
  list(jobId: string, stage: number): CheckpointRow[] {
    return this.metrics.listCheckpoints(jobId, stage);
  }

  /** The file's bytes; throws when they are not what was received (checksum). */
  async read(row: CheckpointRow): Promise<Uint8Array<ArrayBuffer>> {
    const bytes = new Uint8Array(await readFile(row.path));
    if (row.sha256 !== null && sha256(bytes) !== row.sha256) throw new Error(`${row.path} does not match the checksum it was stored with: the file changed on disk`);
    return bytes;
  }

  /**
   * A rollback to `step`: checkpoints of later steps hold training that was
   * undone (a lineage that no longer exists), so none of them may be restored.
   */
  async dropAfter(jobId: string, stage: number, step: number): Promise<void> {
    for (const row of this.metrics.listCheckpoints(jobId, stage).filter((r) => r.step > step)) {
      this.metrics.deleteCheckpoint(jobId, stage, row.step);
      await rm(row.path, { force: true });
    }
  }

  /**
   * Upstream stages run ahead by the credits in flight, so a stage's newest
   * few checkpoints need not be steps the others have: what is kept is
   * counted in steps common to every stage (KEEP_CHECKPOINTS of them and
   * everything newer), never per stage alone.
   */
  private async prune(jobId: string, stageCount: number): Promise<void> {
    const lists = Array.from({ length: stageCount }, (_, s) => this.metrics.listCheckpoints(jobId, s));
    const common = lists[0]!.map((r) => r.step).filter((step) => lists.every((l) => l.some((r) => r.step === step)));
    // Newest first. With fewer common steps than KEEP_CHECKPOINTS nothing goes: an older step may be
    // common a moment later, when another stage's save of it (written concurrently) is recorded.
    const floor = common.length < KEEP_CHECKPOINTS ? -1 : common[KEEP_CHECKPOINTS - 1]!;
    for (const [stage, list] of lists.entries()) {
      for (const [i, old] of list.entries()) {
        if (old.step >= floor && i < MAX_CHECKPOINTS_PER_STAGE) continue;
        this.metrics.deleteCheckpoint(jobId, stage, old.step);
        await rm(old.path, { force: true });
      }
    }
  }
}
