import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { CheckpointRow, MetricsStore } from './metrics.store.js';

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Checkpoints kept per stage; older ones are deleted once a newer one is safely on disk. */
export const KEEP_CHECKPOINTS = 3;

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

  async save(jobId: string, stage: number, epoch: number, step: number, weights: Uint8Array): Promise<CheckpointRow> {
    const dir = this.jobDir(jobId);
    await mkdir(dir, { recursive: true });
    const path = join(dir, `stage-${stage}-step-${step}.ckpt`);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, weights);
    await rename(tmp, path);
    const row: CheckpointRow = { stage, step, epoch, path, bytes: weights.byteLength, sha256: sha256(weights) };
    this.metrics.insertCheckpoint(jobId, row);
    await this.prune(jobId, stage);
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

  private async prune(jobId: string, stage: number): Promise<void> {
    for (const old of this.metrics.listCheckpoints(jobId, stage).slice(KEEP_CHECKPOINTS)) {
      this.metrics.deleteCheckpoint(jobId, stage, old.step);
      await rm(old.path, { force: true });
    }
  }
}
