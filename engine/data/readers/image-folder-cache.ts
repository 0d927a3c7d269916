/**
 * The decoded-image cache of image-folder data sets: one file per (folder,
 * size, channels, file list with sizes and mtimes), so a changed, added or
 * removed image makes a new key and the folder is decoded again.
 * Layout: u32 LE header length, JSON header, then train images, train
 * labels, test images, test labels (uint8). A cache file that does not match
 * its header is ignored (and rewritten), never trusted.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageSet } from '../dataset.js';
import { imageSize } from '../dataset.js';

const FORMAT = 1;

export interface FolderFile {
  /** Path relative to the data set root. */
  rel: string;
  split: 'train' | 'test';
  label: number;
  mtimeMs: number;
  bytes: number;
}

export interface FolderListing {
  classNames: string[];
  files: FolderFile[];
  /** Files that are not images by their name. */
  ignored: number;
}

export interface CachedFolder {
  classNames: string[];
  train: ImageSet;
  test: ImageSet;
  unreadable: Array<{ file: string; reason: string }>;
}

interface Header {
  format: number;
  classNames: string[];
  size: number;
  channels: number;
  trainCount: number;
  testCount: number;
  unreadable: Array<{ file: string; reason: string }>;
}

export function folderFingerprint(root: string, size: number, channels: number, listing: FolderListing): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([FORMAT, root, size, channels, listing.classNames]));
  for (const f of listing.files) h.update(JSON.stringify([f.rel, f.label, f.mtimeMs, f.bytes]));
  return h.digest('hex').slice(0, 32);
}

function cachePath(dir: string, key: string): string {
  return join(dir, 'image-folders', `${key}.bin`);
}

export async function writeFolderCache(dir: string, key: string, data: CachedFolder): Promise<void> {
  const header: Header = {
    format: FORMAT,
    classNames: data.classNames,
    size: data.train.height,
    channels: data.train.channels,
    trainCount: data.train.count,
    testCount: data.test.count,
    unreadable: data.unreadable,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  const path = cachePath(dir, key);
  await mkdir(join(dir, 'image-folders'), { recursive: true });
  // Written aside and renamed: a run killed mid-write leaves no half file under the key.
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, Buffer.concat([len, json, data.train.images, data.train.labels, data.test.images, data.test.labels]));
  await rename(tmp, path);
}

function set(buf: Uint8Array, at: number, count: number, side: number, channels: number): [ImageSet, number] {
  const bytes = count * side * side * channels;
  const images = buf.slice(at, at + bytes);
  const labels = buf.slice(at + bytes, at + bytes + count);
  return [{ images, labels, count, height: side, width: side, channels }, at + bytes + count];
}

/** The cached folder under `key`, or null when there is none or it does not hold what its header says. */
export async function readFolderCache(dir: string, key: string): Promise<CachedFolder | null> {
  let buf: Buffer;
  try {
    buf = await readFile(cachePath(dir, key));
  } catch {
    return null;
  }
  try {
    const len = buf.readUInt32LE(0);
    const header = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as Header;
    if (header.format !== FORMAT) return null;
    const per = imageSize({ height: header.size, width: header.size, channels: header.channels });
    const expected = 4 + len + (header.trainCount + header.testCount) * (per + 1);
    if (buf.length !== expected) return null;
    // A plain Uint8Array view: slices of a Buffer would stay Buffers.
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    const [train, next] = set(bytes, 4 + len, header.trainCount, header.size, header.channels);
    const [test] = set(bytes, next, header.testCount, header.size, header.channels);
    if ([...train.labels, ...test.labels].some((l) => l >= header.classNames.length)) return null;
    return { classNames: header.classNames, train, test, unreadable: header.unreadable };
  } catch {
    // A damaged header: decode again.
    return null;
  }
}
