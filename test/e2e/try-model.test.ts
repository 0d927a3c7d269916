import * as ort from 'onnxruntime-node';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestImages } from '../../protocol/rest-messages.js';
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
  waitFor,
  waitForIdleDevice,
  watchPage,
  type E2eCoordinator,
  type PageProblems,
} from './browser.js';

/** What onnxruntime-node predicts for test image `index` of the job: the reference for the page's answer. */
async function nodePrediction(url: string, id: string, index: number): Promise<number> {
  const onnx = new Uint8Array(await (await fetch(`${url}/api/jobs/${id}/model.onnx`)).arrayBuffer());
  const set = (await api(url, 'GET', `/api/jobs/${id}/test-images?count=${index + 1}`)).body as TestImages;
  const bytes = Buffer.from(set.images[index]!, 'base64');
  const n = set.height * set.width;
  const x = new Float32Array(set.channels * n);
  for (let p = 0; p < n; p++) for (let c = 0; c < set.channels; c++) x[c * n + p] = bytes[p * set.channels + c]! / 255;
  const session = await ort.InferenceSession.create(onnx);
  const out = await session.run({ image: new ort.Tensor('float32', x, [1, set.channels, set.height, set.width]) });
  await session.release();
  const p = out.probabilities.data as Float32Array;
  return p.indexOf(Math.max(...p));
}

describe.skipIf(!HAS_CHROMIUM)('dashboard: try the model (Chromium, onnxruntime-web)', () => {
  let c: E2eCoordinator;
  let page: Page;
  let problems: PageProblems;
  let id: string;

  beforeAll(async () => {
    c = await startE2eCoordinator();
    spawnNodeDevice(c.url, 'node-try');
    const browser = await launchBrowser();
    page = await browser.newPage();
    problems = watchPage(page);
    await waitForIdleDevice(c.url, 'node-try', 60_000, () => deviceLog('node-try'));
    const body = { model: 'resnet20', modules: 2, context: 'E', dataset: 'synthetic', limitTrain: 32, limitTest: 16, batchSize: 16, epochs: 1, minDevices: 1 };
    id = ((await api(c.url, 'POST', '/api/jobs', { token: ADMIN_TOKEN, body })).body as { id: string }).id;
    await waitFor(async () => ((await api(c.url, 'GET', `/api/jobs/${id}`)).body as { status: string }).status === 'done', `job ${id} to finish`, 120_000, () => c.logs.join('\n'));
  });
  afterAll(runCleanups);

  it('shows the predicted class and the top-5 probabilities of a test image, as onnxruntime-node predicts it', async () => {
    await page.goto(`${c.url}/`);
    await page.locator(`#jobs tr[data-job="${id}"]`).click();
    await page.locator(`#try-model[data-job="${id}"]`).waitFor({ timeout: 15_000 });
    await page.click('#try-load');
    await page.locator('#try-model[data-state="ready"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('#try-images canvas').count()).toBe(12);
    await page.click('#try-images canvas[data-index="3"]');
    await page.locator('#try-top5 tr').nth(4).waitFor({ timeout: 15_000 });
    const predicted = Number(await page.locator('#try-result').getAttribute('data-predicted'));
    expect(predicted).toBe(await nodePrediction(c.url, id, 3));
    const rows = await page.locator('#try-top5 tr').evaluateAll((trs) => trs.map((tr) => [Number(tr.getAttribute('data-class')), parseFloat(tr.lastElementChild?.textContent ?? '')]));
    expect(rows).toHaveLength(5);
    expect(rows[0]![0]).toBe(predicted);
    const percents = rows.map((r) => r[1]!);
    expect([...percents].sort((a, b) => b - a)).toEqual(percents);
    expect(percents.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100.5);
    await page.screenshot({ path: screenshotPath('dashboard-try-model.png'), fullPage: true });
    expect(problems.errors, problems.log.join('\n')).toEqual([]);
  });

  it('classifies an image file dropped on the panel, scaled to the model input', async () => {
    await page.evaluate(async () => {
      // A 40x50 PNG made by the browser itself: a real file of another size than the model's 32x32.
      const canvas = document.createElement('canvas');
      canvas.width = 40;
      canvas.height = 50;
      const ctx = canvas.getContext('2d')!;
      ctx.fillStyle = '#c33';
      ctx.fillRect(0, 0, 40, 50);
      const blob = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!), 'image/png'));
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'red.png', { type: 'image/png' }));
      document.getElementById('try-model')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await expect.poll(() => page.locator('#try-result').textContent(), { timeout: 15_000 }).toMatch(/^red\.png: predicted class \d/);
    expect(await page.locator('#try-top5 tr').count()).toBe(5);
    expect(problems.errors, problems.log.join('\n')).toEqual([]);
  });
});
