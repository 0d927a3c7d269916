import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeTwoClassFolder } from '../engine/data/image-folder-fixture.js';
import { api, cleanups, runCleanups, smallJob, startTestCoordinator, waitForStatus } from './helpers.js';
import { shapeDevice } from './shape-device.js';

afterEach(runCleanups);

describe('a job on an image folder (dataset folder:PATH)', () => {
  it('reads the folder on the coordinator, trains, and shows the class names in the job view', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'contsup-folder-job-'));
    cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }));
    await writeTwoClassFolder(join(dir, 'fruit'), 4);
    const c = await startTestCoordinator({ datasetDir: join(dir, 'cache') });
    await shapeDevice(c.url, { name: 'solo' });
    const created = await api(c, 'POST', '/api/jobs', { token: c.adminToken, body: smallJob({ dataset: `folder:${join(dir, 'fruit')}`, modules: 1, minDevices: 1, batchSize: 4 }) });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    await waitForStatus(c, id, ['done']);
    const job = (await api(c, 'GET', `/api/jobs/${id}`)).body as { classNames?: string[]; spec: { dataset: string } };
    expect(job.classNames).toEqual(['apples', 'sky']);
    expect(job.spec.dataset).toBe(`folder:${join(dir, 'fruit')}`);
  }, 60_000);

  it('refuses a relative folder path with 400 naming the field', async () => {
    const c = await startTestCoordinator();
    const res = await api(c, 'POST', '/api/jobs', { token: c.adminToken, body: smallJob({ dataset: 'folder:fruit' }) });
    expect(res.status).toBe(400);
    expect((res.body as { message: string }).message).toMatch(/dataset: must be one of .* or folder:<absolute path>/);
  });
});
