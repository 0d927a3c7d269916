import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { api, runCleanups, smallJob, startTestCoordinator, waitFor, waitForStatus } from '../helpers.js';
import { shapeDevice } from '../shape-device.js';

afterEach(runCleanups);

interface Scrape {
  families: PromFamily[];
  /** The value of one sample; undefined when the series is absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  // Throws on any line that is not Prometheus text format.
  const families = parsePrometheusTextFormat(await res.text());
  return {
    families,
    value(name, labels = {}) {
      const samples = families.find((f) => f.name === name)?.metrics ?? [];
      const hit = samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
      return hit?.value === undefined ? undefined : Number(hit.value);
    },
  };
}

describe('GET /metrics', () => {
  it('exports devices, jobs, samples/s, relayed bytes, refusals and event-loop lag, and follows a running job', async () => {
    const c = await startTestCoordinator();
    const idle = await scrape(c.url);
    expect(idle.value('contsup_devices', { state: 'idle' })).toBe(0);
    expect(idle.value('contsup_jobs', { status: 'running' })).toBe(0);
    expect(idle.value('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(idle.families.find((f) => f.name === 'contsup_relayed_bytes_total')?.type).toBe('COUNTER');

    const devices = [await shapeDevice(c.url, { name: 'a', delayMs: 40 }), await shapeDevice(c.url, { name: 'b', delayMs: 40 })];
    await waitFor(async () => (await scrape(c.url)).value('contsup_devices', { state: 'idle' }) === 2, 'two idle devices');

    // A message the coordinator does not know is refused and counted by its code.
    (devices[0]!.socket.emit as (ev: string, msg: unknown) => void)('bogus:event', {});
    await waitFor(async () => (await scrape(c.url)).value('contsup_refused_messages_total', { code: 'unknown-event' }) === 1, 'the refusal to be counted');

    const created = await api(c, 'POST', '/api/jobs', { token: c.adminToken, body: smallJob({ limitTrain: 960 }) });
    const id = (created.body as { id: string }).id;
    const early = await waitFor(async () => {
      const s = await scrape(c.url);
      return (s.value('contsup_relayed_bytes_total', { job: id, stage: '1', direction: 'in' }) ?? 0) > 0 ? s : undefined;
    }, 'bytes relayed to stage 1');
    expect(early.value('contsup_jobs', { status: 'running' })).toBe(1);
    expect(early.value('contsup_devices', { state: 'busy' })).toBe(2);
    const later = await waitFor(async () => {
      const s = await scrape(c.url);
      const grew = s.value('contsup_relayed_bytes_total', { job: id, stage: '1', direction: 'in' })! > early.value('contsup_relayed_bytes_total', { job: id, stage: '1', direction: 'in' })!;
      const rates = ['0', '1'].map((stage) => s.value('contsup_stage_samples_per_second', { job: id, stage }) ?? 0);
      return grew && rates.every((r) => r > 0) ? s : undefined;
    }, 'relayed bytes to grow and both stages to report samples/s while the job runs');
    expect(later.value('contsup_jobs', { status: 'running' })).toBe(1);

    await waitForStatus(c, id, ['done']);
    const done = await scrape(c.url);
    expect(done.value('contsup_jobs', { status: 'done' })).toBe(1);
    expect(done.value('contsup_jobs', { status: 'running' })).toBe(0);
    // A finished job's per-stage series are dropped.
    expect(done.value('contsup_stage_samples_per_second', { job: id })).toBeUndefined();
    await waitFor(async () => (await scrape(c.url)).value('contsup_devices', { state: 'idle' }) === 2, 'the devices to be idle again');
  });
});

describe('GET /api/health', () => {
  it('answers 200 with a tiny JSON body and needs no token', async () => {
    const c = await startTestCoordinator();
    const res = await api(c, 'GET', '/api/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', protocolVersion: 1 });
  });
});
