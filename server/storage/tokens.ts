import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Tokens {
  joinToken: string;
  adminToken: string;
}

const FILE = 'tokens.json';

const token = (): string => randomBytes(18).toString('base64url');

function stored(dataDir: string): Partial<Tokens> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(dataDir, FILE), 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return {};
    const { joinToken, adminToken } = parsed as Record<string, unknown>;
    return { ...(typeof joinToken === 'string' && joinToken !== '' ? { joinToken } : {}), ...(typeof adminToken === 'string' && adminToken !== '' ? { adminToken } : {}) };
  } catch {
    // Missing or unreadable: generate new ones.
    return {};
  }
}

/**
 * The coordinator's tokens: the ones given, else the ones an earlier run on
 * this data dir generated (`<dataDir>/tokens.json`, owner-only), else new
 * random ones, stored there. Devices that rejoin after a coordinator restart
 * (docs/runtime.md, restart) still hold the old join token, so a restart on
 * the same data dir must accept it.
 */
export function coordinatorTokens(dataDir: string, given: Partial<Tokens>): Tokens {
  const old = stored(dataDir);
  const tokens: Tokens = {
    joinToken: given.joinToken ?? old.joinToken ?? token(),
    adminToken: given.adminToken ?? old.adminToken ?? token(),
  };
  const keep = { joinToken: given.joinToken === undefined ? tokens.joinToken : old.joinToken, adminToken: given.adminToken === undefined ? tokens.adminToken : old.adminToken };
  if (keep.joinToken !== old.joinToken || keep.adminToken !== old.adminToken) {
    writeFileSync(join(dataDir, FILE), `${JSON.stringify(keep)}\n`, { mode: 0o600 });
  }
  return tokens;
}
