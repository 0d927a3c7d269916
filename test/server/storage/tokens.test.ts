import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { coordinatorTokens } from '../../../server/storage/tokens.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'contsup-tokens-'));
  dirs.push(d);
  return d;
}

describe('coordinator tokens', () => {
  it('reuses the tokens an earlier run on the same data dir generated, so devices rejoin after a restart', () => {
    const dir = dataDir();
    const first = coordinatorTokens(dir, {});
    expect(first.joinToken).toMatch(/^[\w-]{20,}$/);
    expect(first.adminToken).not.toBe(first.joinToken);
    expect(coordinatorTokens(dir, {})).toEqual(first);
    expect(statSync(join(dir, 'tokens.json')).mode & 0o077).toBe(0);
    // Another data dir, other tokens.
    expect(coordinatorTokens(dataDir(), {}).joinToken).not.toBe(first.joinToken);
  });

  it('uses given tokens over stored ones without storing them', () => {
    const dir = dataDir();
    const first = coordinatorTokens(dir, {});
    expect(coordinatorTokens(dir, { joinToken: 'given-join' })).toEqual({ joinToken: 'given-join', adminToken: first.adminToken });
    expect(coordinatorTokens(dir, {})).toEqual(first);
  });
});
