/**
 * The authors' release, checked out beside the project in a gitignored folder
 * (never committed). Source: a local git repository of Tab-ct/ContSup, named
 * by CONTSUP_RELEASE_GIT (a bare repository works), or an existing checkout.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const RELEASE_DIR = resolve('.fidelity/release');
const DEFAULT_GIT = '/work/.mirror/Tab-ct+ContSup/repo';
/** Debian's python3 has torch; a pyenv shim on PATH may not. */
export const PYTHON = process.env.CONTSUP_PYTHON ?? '/usr/bin/python3';

export function ensureRelease(dir = RELEASE_DIR): string {
  if (existsSync(join(dir, 'networks_dev', 'resnet.py'))) return dir;
  const git = process.env.CONTSUP_RELEASE_GIT ?? DEFAULT_GIT;
  if (!existsSync(git)) {
    throw new Error(`the release is not checked out at ${dir}: clone https://github.com/Tab-ct/ContSup there, or set CONTSUP_RELEASE_GIT to a local git repository of it`);
  }
  mkdirSync(dir, { recursive: true });
  const archive = execFileSync('git', ['-C', git, 'archive', 'HEAD'], { maxBuffer: 64 << 20 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  return dir;
}

/** Runs the runner on a job file; resolves when it exits 0, rejects with its stderr tail otherwise. */
export function runRelease(jobPath: string, log: (line: string) => void = () => {}): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(PYTHON, [resolve('bench/fidelity/release_runner.py'), jobPath], { stdio: ['ignore', 'inherit', 'pipe'] });
    let tail = '';
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) log(line);
    });
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`release runner exited ${code}: ${tail}`))));
  });
}
