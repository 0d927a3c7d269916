import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startCoordinator, type CoordinatorHandle } from '../../server/main.js';

/** End-to-end helpers: the coordinator in-process, Node devices as child processes, Debian's Chromium via playwright-core. */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);
export const WEB_DIR = join(ROOT, 'dist/web');
export const CLI = join(ROOT, 'dist/cli/cli.js');
export const ARTIFACTS = join(ROOT, 'test-artifacts');
export const JOIN_TOKEN = 'e2e-join';
export const ADMIN_TOKEN = 'e2e-admin';

if (!HAS_CHROMIUM) {
  // Vitest shows skipped tests without a reason; say it once here.
  console.warn(`e2e: ${CHROMIUM} is missing, browser tests are skipped (install it with: apt-get install -y chromium)`);
}

/** Things to undo after a file's tests, newest first. */
const cleanups: Array<() => Promise<void> | void> = [];

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch {
      // Best effort: a failed cleanup must not hide the test's own result.
    }
  }
}

function requireBuild(): void {
  const missing = [join(WEB_DIR, '.vite/manifest.json'), CLI].filter((p) => !existsSync(p));
  if (missing.length > 0) throw new Error(`e2e tests need the build (${missing.join(', ')} missing): run npm run build`);
}

export interface E2eCoordinator extends CoordinatorHandle {
  logs: string[];
}

/** A coordinator on 127.0.0.1, port 0, serving dist/web, in a fresh data dir. */
export async function startE2eCoordinator(): Promise<E2eCoordinator> {
  requireBuild();
  const dataDir = mkdtempSync(join(tmpdir(), 'contsup-e2e-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const logs: string[] = [];
  const t0 = Date.now();
  const c = await startCoordinator({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    joinToken: JOIN_TOKEN,
    adminToken: ADMIN_TOKEN,
    webDir: WEB_DIR,
    log: (m) => void logs.push(`+${Date.now() - t0}ms ${m}`),
  });
  cleanups.push(() => c.close());
  return { ...c, close: () => c.close(), logs };
}

/** `contsup device` (wasm backend) as a child process, stopped after the file's tests. Its log goes to test-artifacts. */
export function spawnNodeDevice(url: string, name: string, extra: string[] = []): ChildProcess {
  mkdirSync(ARTIFACTS, { recursive: true });
  const log = openSync(join(ARTIFACTS, `${name}.log`), 'w');
  const child = spawn(process.execPath, [CLI, 'device', '--url', url, '--token', JOIN_TOKEN, '--name', name, '--backend', 'wasm', ...extra], {
    stdio: ['ignore', log, log],
  });
  cleanups.push(
    () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
        setTimeout(() => {
          if (child.exitCode === null) child.kill('SIGKILL');
        }, 5000).unref();
      }),
  );
  return child;
}

export function deviceLog(name: string): string {
  const p = join(ARTIFACTS, `${name}.log`);
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

const BASE_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Chromium with a fresh profile; `webgpu` adds --enable-unsafe-webgpu (SwiftShader's adapter here). Closed after the file's tests. */
export async function launchBrowser(opts: { webgpu?: boolean } = {}): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'contsup-chromium-'));
  const args = opts.webgpu ? [...BASE_ARGS, '--enable-unsafe-webgpu'] : BASE_ARGS;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args,
    headless: true,
    viewport: { width: 1280, height: 900 },
  });
  cleanups.push(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

export interface PageProblems {
  errors: string[];
  log: string[];
}

/** Console errors and uncaught exceptions of a page (and the whole console, for failure messages). */
export function watchPage(page: Page): PageProblems {
  const seen: PageProblems = { errors: [], log: [] };
  page.on('console', (m) => {
    seen.log.push(`${m.type()}: ${m.text()}`);
    if (m.type() === 'error') seen.errors.push(m.text());
  });
  page.on('pageerror', (e) => {
    seen.log.push(`pageerror: ${e.message}`);
    seen.errors.push(e.message);
  });
  return seen;
}

/** Polls `fn` until it returns a truthy value; the error names what was awaited and `detail()`. */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string, ms: number, detail?: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${detail ? `\n${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

export async function api(url: string, method: 'GET' | 'POST', path: string, opts: { body?: unknown; token?: string } = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
  const res = await fetch(`${url}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, body: type.includes('json') ? await res.json() : await res.text() };
}

interface DeviceJson {
  id: string;
  name: string;
  status: string;
}

/** Waits until a device named `name` is joined and idle (probed) at the coordinator. */
export function waitForIdleDevice(url: string, name: string, ms: number, detail?: () => string): Promise<DeviceJson> {
  return waitFor(
    async () => ((await api(url, 'GET', '/api/devices')).body as DeviceJson[]).find((d) => d.name === name && d.status === 'idle'),
    `device ${name} to join`,
    ms,
    detail,
  );
}

export function screenshotPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
