import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../../server/storage/checkpoint.store.js';
import { MetricsStore } from '../../../server/storage/metrics.store.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function store(): { checkpoints: CheckpointStore; steps: (stage: number) => number[] } {
  const dir = mkdtempSync(join(tmpdir(), 'contsup-ckpt-'));
  const metrics = new MetricsStore(dir);
  cleanups.push(() => {
    metrics.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const checkpoints = new CheckpointStore(dir, metrics);
  return { checkpoints, steps: (stage) => checkpoints.list('job', stage).map((r) => r.step).sort((a, b) => a - b) };
}

const bytes = (step: number): Uint8Array => new Uint8Array(16).fill(step);

describe('checkpoint pruning', () => {
  it('keeps every checkpoint while fewer than 3 steps are common to all stages, whatever order the saves finish in', async () => {
    const { checkpoints, steps } = store();
    // Stage 1's save of step 4 finishes before its save of step 2 (concurrent writes on a loaded machine).
    await checkpoints.save('job', 0, 1, 2, bytes(2), 2);
    await checkpoints.save('job', 0, 1, 4, bytes(4), 2);
    await checkpoints.save('job', 1, 1, 4, bytes(4), 2);
    await checkpoints.save('job', 1, 1, 2, bytes(2), 2);
    expect(steps(0)).toEqual([2, 4]);
    expect(steps(1)).toEqual([2, 4]);
  });

  it('deletes what is older than the 3rd newest step common to all stages, and only that', async () => {
    const { checkpoints, steps } = store();
    for (const step of [2, 4, 6, 8]) for (const stage of [0, 1]) await checkpoints.save('job', stage, 1, step, bytes(step), 2);
    // Stage 0 runs ahead: its newest are not common yet and stay.
    await checkpoints.save('job', 0, 1, 10, bytes(10), 2);
    expect(steps(0)).toEqual([4, 6, 8, 10]);
    expect(steps(1)).toEqual([4, 6, 8]);
  });
});
