import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_EVENTS, EVENTS, parser, type ErrorMessage } from '../../protocol/index.js';
import { api, cleanups, joinDevice, nextEvent, runCleanups, waitFor } from '../server/helpers.js';
import { spawnCli, type Child } from './processes.js';

/**
 * The hostile inputs against a real `contsup coordinator` process:
 * each must be refused while the coordinator keeps answering REST.
 */

// Longer than the bomb takes to arrive on a loaded machine, so that test sees its own refusal, not the window's.
const JOIN_WINDOW_MS = 6000;
const ADMIN = 'admin-secret';
const JOIN = 'join-secret';
const packr = new Packr({ useRecords: false, moreTypes: false });

let coordinator: { url: string; port: number; child: Child };
let dataDir = '';

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'contsup-ingress-'));
  const child = spawnCli('coordinator', [
    'coordinator', '--port', '0', '--host', '127.0.0.1', '--join-token', JOIN, '--admin-token', ADMIN,
    '--data-dir', dataDir, '--join-window-ms', String(JOIN_WINDOW_MS),
  ]);
  // The coordinator serves every test of this file: keep it out of the per-test cleanups, stop it in afterAll.
  cleanups.splice(0);
  coordinator = { url: '', port: 0, child };
  const url = await waitFor(() => /contsup coordinator on (http:\/\/[^\s]+)/.exec(child.output())?.[1], 'the coordinator banner', 30_000);
  coordinator = { url, port: Number(new URL(url).port), child };
}, 40_000);

afterAll(async () => {
  await coordinator?.child.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

// Sockets and devices a test opened are closed after it; the coordinator stays for the file.
afterEach(runCleanups);

/** The coordinator's resident memory, MB (Linux /proc). */
function rssMb(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? NaN) / 1024;
}

/**
 * Polls GET /api/jobs every 50 ms until `done` settles; returns the longest
 * time between two answers and the highest RSS seen.
 */
async function pollWhile(done: Promise<unknown>): Promise<{ longestGapMs: number; peakRssMb: number; answers: number }> {
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  let last = performance.now();
  let longestGapMs = 0;
  let peakRssMb = 0;
  let answers = 0;
  while (!finished) {
    const res = await api(coordinator, 'GET', '/api/jobs');
    expect(res.status).toBe(200);
    answers++;
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
    peakRssMb = Math.max(peakRssMb, rssMb(coordinator.child.proc.pid!));
    await new Promise((r) => setTimeout(r, 50));
  }
  await done;
  return { longestGapMs, peakRssMb, answers };
}

/** A raw Engine.IO WebSocket that has opened the Socket.IO namespace (CONNECT sent and answered). */
async function rawConnected(): Promise<{ ws: WebSocket; frames: unknown[]; closed: Promise<number> }> {
  // A zero mask makes ws skip masking: masking 64 MiB in JS would stall this test's own polling loop.
  const ws = new WebSocket(`ws://127.0.0.1:${coordinator.port}/socket.io/?EIO=4&transport=websocket`, { generateMask: (mask: Buffer) => void mask.fill(0) });
  const frames: unknown[] = [];
  const closed = new Promise<number>((resolve) => ws.once('close', resolve));
  let connected: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (connected = resolve));
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      // Engine.IO open ("0{...}"): now open the namespace with a CONNECT packet.
      const text = (data as Buffer).toString('utf8');
      if (text.startsWith('0')) ws.send(packr.pack({ type: 0, nsp: '/' }));
      if (text === '2') ws.send('3');
      return;
    }
    const packet = packr.unpack(data as Buffer) as { type: number };
    frames.push(packet);
    if (packet.type === 0) connected();
  });
  cleanups.push(() => ws.terminate());
  await ready;
  return { ws, frames, closed };
}

/** The frame: EVENT device:heartbeat whose payload is an array of `count` empty maps. */
function emptyMapBomb(count: number): Buffer {
  const head = Buffer.from(packr.pack({ type: 2, nsp: '/', data: ['device:heartbeat', null] }));
  const nil = head.indexOf(0xc0);
  const array = Buffer.alloc(5 + count, 0x80);
  array[0] = 0xdd;
  array.writeUInt32BE(count, 1);
  return Buffer.concat([head.subarray(0, nil), array, head.subarray(nil + 1)]);
}

describe('a real coordinator under hostile input', () => {
  it('refuses the 64 MiB empty-map bomb from a socket that never joined, answering REST throughout with bounded memory', async () => {
    const { ws, frames, closed } = await rawConnected();
    // Just under the coordinator's 64 MiB message limit, so the frame reaches the decoder.
    const bomb = emptyMapBomb(64 * 1024 * 1024 - 64);
    expect(bomb.length).toBeLessThan(64 * 1024 * 1024);
    ws.send(bomb);
    const seen = await pollWhile(closed);
    expect(seen.longestGapMs).toBeLessThan(1000);
    expect(seen.peakRssMb).toBeLessThan(400);
    const error = frames.map((f) => (f as { data?: unknown[] }).data).find((d) => d?.[0] === EVENTS.error)?.[1] as ErrorMessage | undefined;
    expect(error?.code).toBe('too-large');
    expect(error?.message).toMatch(/above the limit of 65536/);
    expect((await api(coordinator, 'GET', '/api/jobs')).status).toBe(200);
  }, 60_000);

  it('closes a flood of never-joining sockets after the join window, and keeps joined devices and dashboards', async () => {
    const device = await joinDevice(coordinator.url, { token: JOIN, name: 'patient' });
    const dashboard = io(coordinator.url, { transports: ['websocket'], reconnection: false, forceNew: true, parser });
    cleanups.push(() => void dashboard.disconnect());
    await nextEvent(dashboard, 'connect');
    (dashboard.emit as (ev: string, msg: unknown) => void)(DASHBOARD_EVENTS.subscribe, {});
    const t0 = Date.now();
    const flood = Array.from({ length: 50 }, () => {
      const s = io(coordinator.url, { transports: ['websocket'], reconnection: false, forceNew: true, parser });
      cleanups.push(() => void s.disconnect());
      const error = nextEvent<ErrorMessage>(s, EVENTS.error, 20_000);
      const gone = nextEvent(s, 'disconnect', 20_000);
      return Promise.all([error, gone]);
    });
    const results = await Promise.all(flood);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(JOIN_WINDOW_MS - 100);
    expect(elapsed).toBeLessThan(JOIN_WINDOW_MS + 8000);
    for (const [error] of results) {
      expect(error.code).toBe('join-timeout');
      expect(error.message).toContain(`within ${JOIN_WINDOW_MS} ms`);
    }
    expect(device.socket.connected).toBe(true);
    expect(dashboard.connected).toBe(true);
  }, 40_000);

  it('refuses a huge R<n> with 400 naming the limit, and keeps answering', async () => {
    const t0 = performance.now();
    const res = await api(coordinator, 'POST', '/api/jobs', { token: ADMIN, body: { context: 'R99999999999999999999' } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/R<n> needs n <= modules \(4\)/);
    expect((await api(coordinator, 'GET', '/api/jobs')).status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('keeps answering while it prepares a 200,000-image synthetic set', async () => {
    const res = await api(coordinator, 'POST', '/api/jobs', { token: ADMIN, body: { dataset: 'synthetic', limitTrain: 200_000, limitTest: 100, minDevices: 64, modules: 4 } });
    expect(res.status).toBe(201);
    const id = (res.body as { id: string }).id;
    const prepared = waitFor(
      async () => {
        const job = (await api(coordinator, 'GET', `/api/jobs/${id}`)).body as { status: string; waitingFor: string | null };
        return job.status !== 'waiting' || job.waitingFor !== 'preparing data';
      },
      'the job to be prepared',
      120_000,
      200,
    );
    const seen = await pollWhile(prepared);
    expect(seen.answers).toBeGreaterThan(10);
    expect(seen.longestGapMs).toBeLessThan(1000);
    expect((await api(coordinator, 'POST', `/api/jobs/${id}/stop`, { token: ADMIN })).status).toBe(200);
  }, 150_000);

  it('answers 415 to a JSON body sent as text/plain or without a Content-Type, and creates no job', async () => {
    const before = ((await api(coordinator, 'GET', '/api/jobs')).body as unknown[]).length;
    const body = JSON.stringify({ model: 'resnet20', modules: 2 });
    for (const headers of [{ 'content-type': 'text/plain' }, {}] as Array<Record<string, string>>) {
      const res = await fetch(`${coordinator.url}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, ...headers }, body: new TextEncoder().encode(body) });
      expect(res.status).toBe(415);
      expect(((await res.json()) as { message: string }).message).toMatch(/Content-Type: application\/json/);
    }
    expect(((await api(coordinator, 'GET', '/api/jobs')).body as unknown[]).length).toBe(before);
  });
});
