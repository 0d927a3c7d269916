import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTwoClassFolder } from '../engine/data/image-folder-fixture.js';

// The built CLI (`npm run build` first), as a user runs it.
const CLI = fileURLToPath(new URL('../../dist/cli/cli.js', import.meta.url));

function cli(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('contsup train --dataset folder:PATH', () => {
  const dir = mkdtempSync(join(tmpdir(), 'contsup-train-folder-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trains one short epoch on a folder of PNG and JPEG files given by a relative path', async () => {
    await writeTwoClassFolder(join(dir, 'shots'), 4);
    const args = ['train', '--dataset', 'folder:shots', '--input-size', '16', '--model', 'resnet20', '--modules', '2', '--epochs', '1', '--batch-size', '4', '--data-dir', join(dir, 'cache'), '--json'];
    const run = await cli(args, dir);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ event: 'start', dataset: `folder:${join(dir, 'shots')}`, trainCount: 8, testCount: 4 });
    const epoch = lines.find((l) => l['event'] === 'epoch');
    expect(epoch?.['testError']).toBeGreaterThanOrEqual(0);
    expect(epoch?.['testError']).toBeLessThanOrEqual(100);
  }, 120_000);

  it('refuses an --input-size out of range before reading anything', async () => {
    const run = await cli(['train', '--dataset', 'folder:shots', '--input-size', '2'], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--input-size must be an integer 4..512');
  });
});
