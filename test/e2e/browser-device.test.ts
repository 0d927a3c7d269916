import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  HAS_CHROMIUM,
  JOIN_TOKEN,
  ROOT,
  api,
  deviceLog,
  launchBrowser,
  runCleanups,
  screenshotPath,
  spawnNodeDevice,
  startE2eCoordinator,
  waitFor,
  waitForIdleDevice,
  watchPage,
  type E2eCoordinator,
  type PageProblems,
} from './browser.js';

/**
 * A browser tab joins from /device and trains one stage of a K = 2 job beside
 * a Node device, watched from the dashboard: once with WebGPU (SwiftShader's
 * adapter, --enable-unsafe-webgpu) and once without it, where the page must
 * say it fell back. Tiny job: SwiftShader runs a resnet20 half at well under
 * one sample per second.
 */

const JOB = {
  model: 'resnet20',
  modules: 2,
  context: 'E',
  head: '0c1f',
  dataset: 'synthetic',
  epochs: 1,
  batchSize: 8,
  // Two training steps (the sample count rises twice) and one evaluation batch.
  limitTrain: 16,
  limitTest: 8,
  minDevices: 2,
};
const JOB_MS = 170_000;
/**
 * The fallback tab trains on wasm, fast enough that all its steps can land
 * inside one 1 s dashboard period (seen once: samples 0, then 48). Six
 * steps, each paced to at least NODE_STEP_MS by the Node peer (its one
 * module sleeps that long per step), so the dashboard's rising counts are
 * seen whatever the machine's load.
 */
const FALLBACK_JOB = { ...JOB, limitTrain: 48 };
const NODE_STEP_MS = 600;

interface Run {
  dashboard: Page;
  device: Page;
  dashProblems: PageProblems;
  deviceProblems: PageProblems;
  /** The browser stage's sample counts as the dashboard showed them, in order. */
  samplesSeen: number[];
  jobId: string;
  job: typeof JOB;
}

describe.skipIf(!HAS_CHROMIUM)('browser device (Chromium) beside a Node device', () => {
  let c: E2eCoordinator;

  beforeAll(async () => {
    c = await startE2eCoordinator();
    spawnNodeDevice(c.url, 'node-peer', ['--slow-step-ms', String(NODE_STEP_MS)]);
    await waitForIdleDevice(c.url, 'node-peer', 60_000, () => deviceLog('node-peer'));
  });
  afterAll(runCleanups);

  /** Opens the dashboard and the device page, joins, runs the job (created by `create`) to the end. */
  async function run(name: string, webgpu: boolean, create: (dashboard: Page) => Promise<string>, query = '', job: typeof JOB = JOB): Promise<Run> {
    const browser = await launchBrowser({ webgpu });
    const dashboard = await browser.newPage();
    const dashProblems = watchPage(dashboard);
    await dashboard.goto(`${c.url}/`);
    await dashboard.locator('#conn[data-state="live"]').waitFor({ timeout: 15_000 });

    const device = await browser.newPage();
    const deviceProblems = watchPage(device);
    await device.goto(`${c.url}/device?token=${encodeURIComponent(JOIN_TOKEN)}&name=${name}${query}`);
    await device.click('#join');
    await device.locator('#status[data-state="joined"]').waitFor({ timeout: 60_000 });
    await waitForIdleDevice(c.url, name, 30_000, () => deviceProblems.log.join('\n'));
    // The dashboard lists the tab with the backend it reported.
    const row = dashboard.locator(`#devices tr[data-name="${name}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.getAttribute('data-kind')).toBe('browser');
    expect(await row.getAttribute('data-backend')).toBe(await device.locator('#backend').getAttribute('data-backend'));

    const jobId = await create(dashboard);
    const samplesSeen: number[] = [];
    const stageRow = dashboard.locator(`#stages tr[data-device="${name}"]`);
    const detail = (): string => `samples seen ${JSON.stringify(samplesSeen)}\n--- device page\n${deviceProblems.log.slice(-30).join('\n')}\n--- coordinator\n${c.logs.slice(-30).join('\n')}`;
    await waitFor(
      async () => {
        if ((await stageRow.count()) > 0) {
          const n = Number(await stageRow.first().getAttribute('data-samples'));
          if (samplesSeen[samplesSeen.length - 1] !== n) samplesSeen.push(n);
        }
        const job = (await api(c.url, 'GET', `/api/jobs/${jobId}`)).body as { status: string; error: string | null };
        if (job.status === 'failed' || job.status === 'stopped') throw new Error(`job ${jobId} ${job.status}: ${job.error}\n${detail()}`);
        return job.status === 'done';
      },
      `job ${jobId} to finish`,
      JOB_MS,
      detail,
    );
    // The last state (1 s period) and the epoch's evaluation reach the dashboard.
    await dashboard.locator(`#jobs tr[data-job="${jobId}"][data-status="done"]`).waitFor({ timeout: 10_000 });
    await expect.poll(async () => Number(await stageRow.first().getAttribute('data-samples')), { timeout: 10_000 }).toBe(job.limitTrain);
    samplesSeen.push(job.limitTrain);
    return { dashboard, device, dashProblems, deviceProblems, samplesSeen, jobId, job };
  }

  /** What both runs must show: the browser trained, the dashboard drew it. */
  async function checkRun(r: Run, name: string, shots: string): Promise<void> {
    const { dashboard, device } = r;
    // Rising sample counts, step by step (the dashboard polls once a second).
    const distinct = r.samplesSeen.filter((n, i, a) => n > 0 && a.indexOf(n) === i);
    expect(distinct.length, `samples seen ${JSON.stringify(r.samplesSeen)}`).toBeGreaterThanOrEqual(2);
    expect([...distinct].sort((a, b) => a - b)).toEqual(distinct);
    // The device page ran its stage and says so.
    expect(await device.locator('#samples').getAttribute('data-count')).toBe(String(r.job.limitTrain));
    expect(await device.locator('#stage').getAttribute('data-job')).toBe(r.jobId);
    expect(await device.locator('#stage').textContent()).toContain(`last: job ${r.jobId}: stage`);
    // Per-module curves (both modules, both steps), the epoch's test error and the information curve.
    await expect.poll(async () => Number(await dashboard.locator('#chart-loss').getAttribute('data-series')), { timeout: 10_000 }).toBe(2);
    expect(Number(await dashboard.locator('#chart-loss').getAttribute('data-points'))).toBeGreaterThanOrEqual(4);
    expect(Number(await dashboard.locator('#chart-accuracy').getAttribute('data-points'))).toBeGreaterThanOrEqual(4);
    await expect.poll(async () => Number(await dashboard.locator('#chart-test').getAttribute('data-points')), { timeout: 10_000 }).toBe(1);
    expect(Number(await dashboard.locator('#chart-info').getAttribute('data-points'))).toBe(2);
    // The plan: two module boxes, one per stage, the E arcs drawn.
    expect(await dashboard.locator('#plan rect.module[data-module]').count()).toBe(2);
    expect(await dashboard.locator('#plan .arc-e').count()).toBe(1);
    expect(await dashboard.locator(`#plan text`).allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining(name)]));
    await dashboard.screenshot({ path: screenshotPath(`${shots}-dashboard.png`), fullPage: true });
    await device.screenshot({ path: screenshotPath(`${shots}-device.png`), fullPage: true });
    expect(r.dashProblems.errors, r.dashProblems.log.join('\n')).toEqual([]);
    expect(r.deviceProblems.log.filter((l) => l.startsWith('pageerror')), r.deviceProblems.log.join('\n')).toEqual([]);
  }

  it('ranks SwiftShader\'s software WebGPU after WebAssembly and says why', async () => {
    const browser = await launchBrowser({ webgpu: true });
    const page = await browser.newPage();
    const problems = watchPage(page);
    await page.goto(`${c.url}/device?token=${encodeURIComponent(JOIN_TOKEN)}&name=browser-ranking`);
    await page.click('#join');
    await page.locator('#status[data-state="joined"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('#backend').getAttribute('data-backend'), problems.log.join('\n')).toBe('wasm');
    expect(await page.locator('#fallback').textContent()).toMatch(/fell back: WebGPU ranked after WebAssembly: software adapter \(.*swiftshader/i);
    await page.close();
  }, 90_000);

  it(
    'trains a stage on WebGPU forced with ?backend=webgpu (--enable-unsafe-webgpu) and the dashboard shows it',
    async () => {
      const name = 'browser-webgpu';
      const r = await run(name, true, async () => {
        const res = await api(c.url, 'POST', '/api/jobs', { token: ADMIN_TOKEN, body: JOB });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return (res.body as { id: string }).id;
      }, '&backend=webgpu');
      expect(await r.device.locator('#backend').getAttribute('data-backend')).toBe('webgpu');
      expect(await r.device.locator('#backend').getAttribute('data-software')).toBe('true');
      expect(await r.device.locator('#fallback').getAttribute('data-fell-back')).toBe('false');
      expect(await r.dashboard.locator(`#devices tr[data-name="${name}"]`).getAttribute('data-backend')).toBe('webgpu');
      await checkRun(r, name, 'webgpu');
      // Closing the tab is an ordinary disconnect: the coordinator and the dashboard see the device lost.
      await r.device.close();
      await r.dashboard.locator(`#devices tr[data-name="${name}"][data-status="lost"]`).waitFor({ timeout: 15_000 });
    },
    JOB_MS + 60_000,
  );

  it(
    'without WebGPU says it fell back, trains on WebGL or wasm, created from the dashboard with the admin token',
    async () => {
      const name = 'browser-fallback';
      const r = await run(name, false, async (dashboard) => {
        // The job controls with the admin token: the same spec through the form.
        await dashboard.fill('#admin-token', ADMIN_TOKEN);
        await dashboard.click('#token-save');
        await dashboard.locator('#mode[data-mode="admin"]').waitFor();
        const form = dashboard.locator('#create-form');
        await form.locator('select[name="model"]').selectOption(FALLBACK_JOB.model);
        await form.locator('select[name="head"]').selectOption(FALLBACK_JOB.head);
        for (const key of ['modules', 'context', 'epochs', 'batchSize', 'limitTrain', 'limitTest', 'minDevices'] as const) {
          await form.locator(`input[name="${key}"]`).fill(String(FALLBACK_JOB[key]));
        }
        await dashboard.click('#create-job');
        // Saving the token also says ok: wait for the creation's own message.
        const message = dashboard.locator('#control-message[data-kind="ok"]', { hasText: /job \S+ created/ });
        await message.waitFor({ timeout: 10_000 });
        const id = /job (\S+) created/.exec((await message.textContent()) ?? '')?.[1];
        expect(id, (await message.textContent()) ?? '').toBeDefined();
        return id!;
      }, '', FALLBACK_JOB);
      const backend = await r.device.locator('#backend').getAttribute('data-backend');
      expect(['webgl', 'wasm']).toContain(backend);
      expect(await r.device.locator('#fallback').getAttribute('data-fell-back')).toBe('true');
      expect(await r.device.locator('#fallback').textContent()).toMatch(/fell back: WebGPU unavailable: /);
      await checkRun(r, name, 'fallback');
      // This job and the finished WebGPU one side by side in the information-curve comparison.
      await expect.poll(async () => Number(await r.dashboard.locator('#chart-compare').getAttribute('data-series')), { timeout: 10_000 }).toBe(2);
      const compared = [await r.dashboard.locator('#compare-a').inputValue(), await r.dashboard.locator('#compare-b').inputValue()];
      expect(compared[0]).toBe(r.jobId);
      expect(compared[1]).not.toBe(r.jobId);
      expect(compared[1]).toMatch(/^job-/);
      // The dashboard picture for the README (a tracked file: written only when asked).
      if (process.env['CONTSUP_UPDATE_SCREENSHOT'] === '1') {
        const shot = screenshotPath('readme-dashboard.png');
        await r.dashboard.screenshot({ path: shot, fullPage: true });
        mkdirSync(join(ROOT, 'docs/img'), { recursive: true });
        copyFileSync(shot, join(ROOT, 'docs/img/dashboard.png'));
      }
    },
    JOB_MS + 60_000,
  );
});
