import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../protocol/errors.js';
import { parseJobSpec } from '../../protocol/job-spec.js';

// The built CLI (`npm run build` first), as a user runs it.
const CLI = fileURLToPath(new URL('../../dist/cli/cli.js', import.meta.url));

function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

function refusal(input: object): string {
  try {
    parseJobSpec(input);
  } catch (err: unknown) {
    if (err instanceof ProtocolError) return err.message;
    throw err;
  }
  throw new Error(`parseJobSpec accepted ${JSON.stringify(input)}`);
}

describe('one job-spec parsing for the CLI and POST /api/jobs', () => {
  it('refuses a bad context mode in contsup train with the words parseJobSpec uses', async () => {
    const expected = refusal({ context: 'R0X' });
    expect(expected).toContain('context: must be R0, E, R<n> or R<n>E');
    const run = await cli(['train', '--context', 'R0X', '--json']);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim()).toBe(`contsup: ${expected}`);
  });

  it('refuses more modules than resnet20 has in contsup train with the words parseJobSpec uses', async () => {
    const expected = refusal({ model: 'resnet20', modules: 99 });
    expect(expected).toContain('resnet20 can be cut into at most 10 modules');
    const run = await cli(['train', '--model', 'resnet20', '--modules', '99']);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim()).toBe(`contsup: ${expected}`);
  });

  it('refuses recipe options out of range in contsup train with the words parseJobSpec uses', async () => {
    const expected = refusal({ recipe: { augment: 'rotate', weightDecay: 2 } });
    expect(expected).toContain('recipe.weightDecay: value must be <= 0.1');
    const run = await cli(['train', '--augment', 'rotate', '--weight-decay', '2']);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim()).toBe(`contsup: ${expected}`);
  });

  it('refuses a bad --epochs in contsup start before starting anything', async () => {
    const expected = refusal({ epochs: 0 });
    const run = await cli(['start', '--epochs', '0', '--port', '0']);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim()).toBe(`contsup: ${expected}`);
  });
});
