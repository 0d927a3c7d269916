import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { packr, type StageCheckpoint } from '../../engine/train/checkpoint-format.js';
import { api, cleanups, runCleanups, smallJob, waitForStatus } from '../server/helpers.js';
import { shapeDevice } from '../server/shape-device.js';
import { spawnCoordinator } from './processes.js';

afterEach(runCleanups);

// A preload that records every module the process loads: ES modules through a
// resolve hook (it runs on the loader thread, so it appends as it goes), and
// CommonJS modules (tfjs's packages are CommonJS under Node) from
// require.cache when the process exits.
const PRELOAD = `
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
const out = process.env.CONTSUP_MODULE_LOG;
register('./resolve-hook.mjs', import.meta.url, { data: { out } });
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => appendFileSync(out, Object.keys(cache).map((k) => 'cjs ' + k + '\\n').join('')));
`;
const RESOLVE_HOOK = `
import { appendFileSync } from 'node:fs';
let out;
export function initialize(data) { out = data.out; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(out, 'esm ' + r.url + '\\n');
  return r;
}
`;

interface Recorder {
  nodeArgs: string[];
  env: Record<string, string>;
  loaded(): string[];
}

function moduleRecorder(): Recorder {
  const dir = mkdtempSync(join(tmpdir(), 'contsup-modules-'));
  cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'preload.mjs'), PRELOAD);
  writeFileSync(join(dir, 'resolve-hook.mjs'), RESOLVE_HOOK);
  const log = join(dir, 'modules.log');
  writeFileSync(log, '');
  return {
    nodeArgs: ['--import', pathToFileURL(join(dir, 'preload.mjs')).href],
    env: { CONTSUP_MODULE_LOG: log },
    loaded: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
  };
}

const tensorflow = (modules: string[]): string[] => modules.filter((m) => m.includes('@tensorflow/'));

describe('the coordinator without tfjs', () => {
  it('the module recorder sees tfjs in a process that loads it', () => {
    const rec = moduleRecorder();
    const res = spawnSync(process.execPath, [...rec.nodeArgs, '--input-type=module', '-e', "await import('@tensorflow/tfjs-core');"], {
      env: { ...process.env, ...rec.env },
      cwd: process.cwd(),
      encoding: 'utf8',
    });
    expect(res.status, res.stderr).toBe(0);
    expect(tensorflow(rec.loaded()).length).toBeGreaterThan(0);
  });

  it('plans, runs and serves the model of a job with stage fakes without loading any @tensorflow/ module', async () => {
    const rec = moduleRecorder();
    const dataDir = mkdtempSync(join(tmpdir(), 'contsup-no-tfjs-'));
    cleanups.unshift(() => rmSync(dataDir, { recursive: true, force: true }));
    const { url, child } = await spawnCoordinator({ dataDir, joinToken: 'join-secret', adminToken: 'admin-secret', ...rec });
    // Stage checkpoints in the real file format (no tensors), so the model download combines real files.
    const checkpoint = (a: { firstModule: number; lastModule: number }, input: { step: number }): Uint8Array<ArrayBuffer> => {
      const ckpt: StageCheckpoint = { format: 'contsup-stage', version: 1, firstModule: a.firstModule, lastModule: a.lastModule, step: input.step, params: {}, momentum: {} };
      return new Uint8Array(packr.pack(ckpt));
    };
    for (const name of ['a', 'b']) await shapeDevice(url, { name, checkpoint });
    const body = smallJob({ modules: 2, context: 'R1E', limitTrain: 32, limitTest: 16 });
    const created = await api({ url }, 'POST', '/api/jobs', { token: 'admin-secret', body });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = (created.body as { id: string }).id;
    const done = await waitForStatus({ url }, id, ['done']);
    expect(done.plan).toHaveLength(2);
    const model = await api({ url }, 'GET', `/api/jobs/${id}/model`);
    expect(model.status).toBe(200);
    const file = packr.unpack(model.body as Uint8Array) as { format: string; config: { modules: number } };
    expect([file.format, file.config.modules]).toEqual(['contsup-model', 2]);
    // The ONNX export runs here too; these fake checkpoints hold no weights, which it reports.
    const onnx = await api({ url }, 'GET', `/api/jobs/${id}/model.onnx`);
    expect(onnx.status).toBe(409);
    expect((onnx.body as { message: string }).message).toMatch(/does not export to ONNX: model file has no tensor stem\/conv\/w/);
    await child.stop();

    const loaded = rec.loaded();
    // The recorder saw the coordinator's own modules: an empty log would prove nothing.
    expect(loaded.some((m) => m.includes('/dist/server/main.js'))).toBe(true);
    expect(loaded.some((m) => m.includes('@nestjs/core'))).toBe(true);
    expect(tensorflow(loaded)).toEqual([]);
  });
});
