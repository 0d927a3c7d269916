import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DatasetFileError } from '../../../engine/data/readers/dataset-file-error.js';
import { DatasetUnavailableError, loadDataset } from '../../../engine/data/load-dataset.js';
import { gzip, idxImages, idxLabels } from './format-writers.js';
import { tempDir } from './temp-dir.js';

const N_TRAIN = 30;
const N_TEST = 12;
const trainLabels = Array.from({ length: N_TRAIN }, (_, i) => (i * 7) % 10);
const testLabels = Array.from({ length: N_TEST }, (_, i) => (i * 3) % 10);
const FILES: Record<string, Uint8Array> = {
  'train-images-idx3-ubyte.gz': gzip(idxImages(N_TRAIN, 28, 28)),
  'train-labels-idx1-ubyte.gz': gzip(idxLabels(trainLabels)),
  't10k-images-idx3-ubyte.gz': gzip(idxImages(N_TEST, 28, 28)),
  't10k-labels-idx1-ubyte.gz': gzip(idxLabels(testLabels)),
};
const CHECKSUMS = Object.fromEntries(Object.entries(FILES).map(([k, v]) => [k, createHash('md5').update(v).digest('hex')]));

let server: http.Server;
let base = '';
const requests: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(url);
    const [, mode, name] = url.split('/');
    const body = FILES[name ?? ''];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    if (mode === 'ok') {
      res.writeHead(200, { 'content-length': body.length }).end(Buffer.from(body));
    } else if (mode === 'redirect') {
      res.writeHead(302, { location: `/ok/${name}` }).end();
    } else if (mode === 'bad') {
      // Same length, one byte changed: only the checksum can tell.
      const bad = Buffer.from(body);
      bad[bad.length - 1] ^= 0xff;
      res.writeHead(200, { 'content-length': bad.length }).end(bad);
    } else if (mode === 'drop') {
      res.writeHead(200, { 'content-length': body.length });
      res.write(Buffer.from(body.subarray(0, Math.floor(body.length / 2))), () => {
        setTimeout(() => res.socket?.destroy(), 20);
      });
    } else {
      res.writeHead(500).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
  requests.length = 0;
});
afterEach(() => tmp.cleanup());

const opts = (mode: string) => ({
  dataDir: tmp.dir,
  fetchBase: { mnist: `${base}/${mode}/` },
  checksums: CHECKSUMS,
  systemDirs: [],
});

function leftovers(): string[] {
  const dir = join(tmp.dir, 'mnist');
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('loadDataset download path', () => {
  it('rejects a file whose checksum does not match and keeps nothing', async () => {
    await expect(loadDataset('mnist', opts('bad'))).rejects.toThrow(/checksum mismatch.*train-images-idx3-ubyte\.gz: expected md5/);
    expect(leftovers()).toEqual([]);
    // A later load must go back to the network rather than read a bad file.
    requests.length = 0;
    await loadDataset('mnist', opts('ok'));
    expect(requests).toHaveLength(4);
  });

  it('rejects a connection dropped half-way and keeps no file or .part', async () => {
    const err = await loadDataset('mnist', opts('drop')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetUnavailableError);
    expect(String((err as Error).message)).toMatch(/cut off/);
    expect(leftovers()).toEqual([]);
  });

  it('downloads, follows redirects, reports progress and caches', async () => {
    const progress: Array<{ file: string; received: number; total?: number }> = [];
    const ds = await loadDataset('mnist', { ...opts('redirect'), onProgress: (p) => progress.push(p) });
    expect(ds.train).toMatchObject({ count: N_TRAIN, height: 28, width: 28, channels: 1 });
    expect(ds.test.count).toBe(N_TEST);
    expect(Array.from(ds.train.labels)).toEqual(trainLabels);
    expect(ds.preprocess).toMatchObject({ mean: [0.5], std: [0.5] });
    expect(requests.filter((r) => r.startsWith('/redirect/'))).toHaveLength(4);
    expect(requests.filter((r) => r.startsWith('/ok/'))).toHaveLength(4);
    const last = progress.filter((p) => p.file === 't10k-labels-idx1-ubyte.gz').at(-1);
    expect(last).toEqual({ file: 't10k-labels-idx1-ubyte.gz', received: FILES['t10k-labels-idx1-ubyte.gz'].length, total: FILES['t10k-labels-idx1-ubyte.gz'].length });
    expect(leftovers().sort()).toEqual(Object.keys(FILES).sort());

    requests.length = 0;
    const again = await loadDataset('mnist', { ...opts('ok'), limitTrain: 10, limitTest: 5 });
    expect(requests).toEqual([]);
    expect(again.train.count).toBe(10);
    expect(again.train.images.length).toBe(10 * 784);
    expect(again.test.count).toBe(5);
  });

  it('downloads only the files that are missing', async () => {
    mkdirSync(join(tmp.dir, 'mnist'));
    writeFileSync(join(tmp.dir, 'mnist', 'train-images-idx3-ubyte.gz'), FILES['train-images-idx3-ubyte.gz']);
    await loadDataset('mnist', opts('ok'));
    expect(requests.sort()).toEqual(['/ok/t10k-images-idx3-ubyte.gz', '/ok/t10k-labels-idx1-ubyte.gz', '/ok/train-labels-idx1-ubyte.gz']);
  });

  it('without network says which URLs to put into which folder', async () => {
    const err = await loadDataset('mnist', { ...opts('ok'), fetchBase: { mnist: 'http://127.0.0.1:1/' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetUnavailableError);
    const msg = (err as Error).message;
    expect(msg).toContain(`put them into ${join(tmp.dir, 'mnist')}/`);
    expect(msg).toContain(`http://127.0.0.1:1/t10k-labels-idx1-ubyte.gz -> ${join(tmp.dir, 'mnist', 't10k-labels-idx1-ubyte.gz')}`);
    expect(leftovers()).toEqual([]);
  });

  it('with download disabled lists the official URLs and makes no request', async () => {
    const err = await loadDataset('svhn', { dataDir: tmp.dir, download: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetUnavailableError);
    expect((err as Error).message).toContain('http://ufldl.stanford.edu/housenumbers/train_32x32.mat -> ');
    expect((err as Error).message).toContain(join(tmp.dir, 'svhn', 'test_32x32.mat'));
    expect(requests).toEqual([]);
  });

  it('reports a truncated file in an explicit data dir instead of downloading', async () => {
    const dir = join(tmp.dir, 'mnist');
    mkdirSync(dir);
    for (const [k, v] of Object.entries(FILES)) writeFileSync(join(dir, k), v);
    const raw = idxImages(N_TEST, 28, 28);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzip(raw.subarray(0, 16 + 5 * 784)));
    const err = await loadDataset('mnist', opts('ok')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetFileError);
    expect((err as Error).message).toBe(
      `${join(dir, 't10k-images-idx3-ubyte.gz')}: truncated IDX file: header says ${N_TEST} images of 28x28 (${16 + N_TEST * 784} bytes), found ${16 + 5 * 784} bytes. Delete it and rerun to download again, or replace it.`,
    );
    expect(requests).toEqual([]);
  });
});
