import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { extractTarGz } from '../../../engine/data/tar.js';
import { tarGz } from './format-writers.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const bytesOf = (n: number, k: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * k) % 251);

describe('extractTarGz', () => {
  it('extracts only the requested members, byte for byte', async () => {
    const longName = `${'deep/'.repeat(25)}member.bin`;
    const archive = tmp.write('a.tar.gz', tarGz([
      { name: 'cifar-10-batches-bin/readme.html', data: bytesOf(700, 3) },
      { name: 'cifar-10-batches-bin/data_batch_1.bin', data: bytesOf(3073 * 2, 7) },
      { name: 'cifar-10-batches-bin/empty.bin', data: new Uint8Array(0) },
      { name: longName, data: bytesOf(1025, 5) },
    ]));
    await extractTarGz(archive, {
      'cifar-10-batches-bin/data_batch_1.bin': join(tmp.dir, 'data_batch_1.bin'),
      [longName]: join(tmp.dir, 'long.bin'),
    });
    expect(Array.from(readFileSync(join(tmp.dir, 'data_batch_1.bin')))).toEqual(Array.from(bytesOf(3073 * 2, 7)));
    expect(Array.from(readFileSync(join(tmp.dir, 'long.bin')))).toEqual(Array.from(bytesOf(1025, 5)));
    expect(existsSync(join(tmp.dir, 'readme.html'))).toBe(false);
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('fails, naming the archive, when a requested member is absent', async () => {
    const archive = tmp.write('b.tar.gz', tarGz([{ name: 'x/one.bin', data: bytesOf(10, 1) }]));
    await expect(extractTarGz(archive, { 'x/two.bin': join(tmp.dir, 'two.bin') })).rejects.toThrow(/b\.tar\.gz: archive lacks x\/two\.bin/);
  });

  it('fails on a truncated archive and leaves no partial member', async () => {
    const full = tarGz([{ name: 'x/big.bin', data: bytesOf(200_000, 13) }]);
    const archive = tmp.write('c.tar.gz', full.subarray(0, Math.floor(full.length / 2)));
    await expect(extractTarGz(archive, { 'x/big.bin': join(tmp.dir, 'big.bin') })).rejects.toThrow(/c\.tar\.gz: /);
    expect(existsSync(join(tmp.dir, 'big.bin'))).toBe(false);
    expect(existsSync(join(tmp.dir, 'big.bin.part'))).toBe(false);
  });

  it('fails on a corrupt member header, naming the archive', async () => {
    const tar = gunzipSync(tarGz([{ name: 'x/one.bin', data: bytesOf(10, 1) }]));
    tar[0] = tar[0]! ^ 0x01; // the name changes, the stored checksum does not
    const archive = tmp.write('d.tar.gz', gzipSync(tar));
    await expect(extractTarGz(archive, { 'x/one.bin': join(tmp.dir, 'one.bin') })).rejects.toThrow(/d\.tar\.gz: /);
    expect(existsSync(join(tmp.dir, 'one.bin'))).toBe(false);
  });
});
