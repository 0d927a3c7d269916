import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  ADMIN_TOKEN,
  HAS_CHROMIUM,
  api,
  deviceLog,
  launchBrowser,
  runCleanups,
  screenshotPath,
  spawnNodeDevice,
  startE2eCoordinator,
  waitForIdleDevice,
  watchPage,
  type E2eCoordinator,
  type PageProblems,
} from './browser.js';

describe.skipIf(!HAS_CHROMIUM)('dashboard (Chromium)', () => {
  let c: E2eCoordinator;
  let page: Page;
  let problems: PageProblems;

  beforeAll(async () => {
    c = await startE2eCoordinator();
    spawnNodeDevice(c.url, 'node-dash');
    const browser = await launchBrowser();
    page = await browser.newPage();
    problems = watchPage(page);
    await waitForIdleDevice(c.url, 'node-dash', 60_000, () => deviceLog('node-dash'));
  });
  afterAll(runCleanups);

  it('serves the dashboard at /, the device page at /device, and keeps /api and Socket.IO working', async () => {
    const index = await fetch(`${c.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('contsup');
    const device = await fetch(`${c.url}/device`);
    expect(device.status).toBe(200);
    const html = await device.text();
    expect(html).toContain('browser device');
    // Hashed assets are cached for good, and the tfjs .wasm binaries are in the build (no CDN).
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${c.url}${asset!}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await api(c.url, 'GET', '/api/jobs')).status).toBe(200);
    expect((await api(c.url, 'GET', '/api/nope')).status).toBe(404);
  });

  it('loads with no console errors and lists the connected Node device live', async () => {
    await page.goto(`${c.url}/`);
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 15_000 });
    const row = page.locator('#devices tr[data-name="node-dash"]');
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getAttribute('data-kind')).toBe('node');
    expect(await row.getAttribute('data-backend')).toBe('wasm');
    expect(await row.getAttribute('data-status')).toBe('idle');
    await expect.poll(() => row.locator('td').nth(3).textContent()).toMatch(/GFLOP\/s/);
    await page.screenshot({ path: screenshotPath('dashboard-idle.png'), fullPage: true });
    expect(problems.errors, problems.log.join('\n')).toEqual([]);
  });

  it('without the admin token the job controls are read-only and the REST API refuses them (401)', async () => {
    await page.goto(`${c.url}/`);
    await page.locator('#mode[data-mode="read-only"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('#create-job').isDisabled()).toBe(true);

    // The same requests the controls send, from the page, without the token.
    const refused = await page.evaluate(async () => {
      const create = await fetch('/api/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'resnet20', modules: 2 }) });
      const stop = await fetch('/api/jobs/job-x/stop', { method: 'POST' });
      return [create.status, stop.status];
    });
    expect(refused).toEqual([401, 401]);

    // A wrong token enables the button, and the server still refuses: the page says so.
    await page.fill('#admin-token', 'not-the-token');
    await page.click('#token-save');
    await page.locator('#mode[data-mode="admin"]').waitFor();
    await page.click('#create-job');
    const message = page.locator('#control-message[data-kind="bad"]');
    await message.waitFor({ timeout: 10_000 });
    expect(await message.textContent()).toContain('refused (401)');
    expect(((await api(c.url, 'GET', '/api/jobs')).body as unknown[]).length).toBe(0);

    // Forgetting the token makes the page read-only again; the token never left sessionStorage.
    expect(await page.evaluate(() => sessionStorage.getItem('contsup.adminToken'))).toBe('not-the-token');
    await page.click('#token-clear');
    await page.locator('#mode[data-mode="read-only"]').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('contsup.adminToken'))).toBeNull();
    // The real token is accepted by the same REST call (sanity: the 401s above were about the token).
    expect((await api(c.url, 'GET', '/api/jobs', { token: ADMIN_TOKEN })).status).toBe(200);
    // The failed POSTs are "console errors" of the network kind; nothing threw in the page itself.
    expect(problems.log.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  });
});
