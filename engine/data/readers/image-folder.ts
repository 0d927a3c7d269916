/**
 * Image-folder data sets: `<root>/train/<class>/*.png|jpg|jpeg` and
 * `<root>/test/<class>/*`. Class names are the train split's sorted folder
 * names (label = index). Images are decoded with sharp (EXIF orientation
 * applied), scaled to cover a size x size square and centre-cropped (no
 * letterbox bars, the aspect ratio kept), alpha dropped, as sRGB (3
 * channels) or greyscale (1). Unreadable files are left out and named in
 * one warning; a split with no readable image is an error.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageSet } from '../dataset.js';
import { shuffledOrder } from '../dataset.js';
import { readFolderCache, writeFolderCache, folderFingerprint, type FolderListing } from './image-folder-cache.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;
export const MIN_INPUT_SIZE = 4;
export const MAX_INPUT_SIZE = 512;
/** Labels are one byte each. */
const MAX_CLASSES = 256;
/** Images decoded at once (sharp works on libuv's thread pool). */
const PARALLEL = 8;
/** Unreadable files named in the warning; the rest are counted. */
const NAMED = 50;
// A fixed order, so `--limit-train N` takes a class-mixed head, the same on every machine.
const ORDER_SEED = 0x1f01de5;

export interface ImageFolderOptions {
  /** Side of the square images, pixels. */
  size: number;
  channels: 1 | 3;
  /** Where the decoded uint8 cache is kept. */
  cacheDir: string;
  warn: (message: string) => void;
}

export interface ImageFolderData {
  classNames: string[];
  train: ImageSet;
  test: ImageSet;
}

/** A file that could not be decoded, relative to the root, and why. */
export interface UnreadableImage {
  file: string;
  reason: string;
}

function isImage(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  // Code-unit order, not the locale's: the labels must not depend on the machine.
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function listSplit(root: string, split: 'train' | 'test', classNames: string[], listing: FolderListing, warn: (m: string) => void): Promise<void> {
  const dir = join(root, split);
  const folders = await subfolders(dir).catch((err: unknown) => {
    throw new Error(`${dir}: cannot list the ${split} split (${err instanceof Error ? err.message : String(err)}); an image folder needs ${split}/<class>/*.png|jpg`, { cause: err });
  });
  const unknown = folders.filter((f) => !classNames.includes(f));
  if (unknown.length > 0) throw new Error(`${dir}: class folder(s) ${unknown.join(', ')} are not in train/ (classes there: ${classNames.join(', ')}); every test class needs training images`);
  const empty: string[] = [];
  for (const cls of folders) {
    const names = (await readdir(join(dir, cls), { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
    const images = names.filter(isImage);
    listing.ignored += names.length - images.length;
    if (images.length === 0) empty.push(cls);
    for (const name of images) {
      const rel = join(split, cls, name);
      const st = await stat(join(root, rel));
      listing.files.push({ rel, split, label: classNames.indexOf(cls), mtimeMs: st.mtimeMs, bytes: st.size });
    }
  }
  if (empty.length > 0) warn(`${dir}: class folder(s) without images: ${empty.join(', ')}`);
}

/** The file list with modification times: what the cache is keyed by. */
async function listFolder(root: string, warn: (m: string) => void): Promise<FolderListing> {
  const classNames = await subfolders(join(root, 'train')).catch((err: unknown) => {
    throw new Error(`${root}: no train/ folder (${err instanceof Error ? err.message : String(err)}); an image folder data set is <root>/train/<class>/*.png|jpg and <root>/test/<class>/*`, { cause: err });
  });
  if (classNames.length < 2) throw new Error(`${join(root, 'train')}: found ${classNames.length} class folder(s); a classifier needs at least 2 (one folder per class)`);
  if (classNames.length > MAX_CLASSES) throw new Error(`${join(root, 'train')}: ${classNames.length} class folders, at most ${MAX_CLASSES} are supported`);
  const listing: FolderListing = { classNames, files: [], ignored: 0 };
  await listSplit(root, 'train', classNames, listing, warn);
  await listSplit(root, 'test', classNames, listing, warn);
  return listing;
}

type Sharp = typeof import('sharp');

// Loaded on first use: processes that never read an image folder (a coordinator on built-in sets) skip libvips.
let sharpModule: Promise<Sharp> | null = null;
function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then((m) => m.default);
  return sharpModule;
}

/** One image as size x size x channels uint8 HWC. */
async function decode(path: string, size: number, channels: 1 | 3): Promise<Uint8Array> {
  const sharp = await loadSharp();
  let img = sharp(path).rotate().resize(size, size, { fit: 'cover', position: 'centre' }).removeAlpha();
  img = channels === 1 ? img.greyscale() : img.toColourspace('srgb');
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || info.channels !== channels) {
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x${channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function reasonOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

async function decodeSplit(root: string, files: FolderListing['files'], opts: ImageFolderOptions, unreadable: UnreadableImage[]): Promise<ImageSet> {
  const size = opts.size * opts.size * opts.channels;
  const order = shuffledOrder(files.length, ORDER_SEED, 0);
  const decoded: Array<{ pixels: Uint8Array; label: number }> = [];
  for (let i = 0; i < order.length; i += PARALLEL) {
    const chunk = Array.from(order.subarray(i, i + PARALLEL), (k) => files[k]!);
    const results = await Promise.all(
      chunk.map(async (f) => {
        try {
          return { pixels: await decode(join(root, f.rel), opts.size, opts.channels), label: f.label };
        } catch (err: unknown) {
          unreadable.push({ file: f.rel, reason: reasonOf(err) });
          return null;
        }
      }),
    );
    for (const r of results) if (r) decoded.push(r);
  }
  const images = new Uint8Array(decoded.length * size);
  const labels = new Uint8Array(decoded.length);
  decoded.forEach((d, i) => {
    images.set(d.pixels, i * size);
    labels[i] = d.label;
  });
  return { images, labels, count: decoded.length, height: opts.size, width: opts.size, channels: opts.channels };
}

function reportUnreadable(root: string, total: number, unreadable: readonly UnreadableImage[], warn: (m: string) => void): void {
  if (unreadable.length === 0) return;
  const named = unreadable.slice(0, NAMED).map((u) => `  ${u.file}: ${u.reason}`);
  const more = unreadable.length > NAMED ? [`  ... and ${unreadable.length - NAMED} more`] : [];
  warn([`${root}: ${unreadable.length} of ${total} images could not be read and are left out:`, ...named, ...more].join('\n'));
}

/** Reads (or takes from the cache) an image-folder data set; see the file comment. */
export async function readImageFolder(root: string, opts: ImageFolderOptions): Promise<ImageFolderData> {
  if (!Number.isInteger(opts.size) || opts.size < MIN_INPUT_SIZE || opts.size > MAX_INPUT_SIZE) {
    throw new RangeError(`input size must be an integer in ${MIN_INPUT_SIZE}..${MAX_INPUT_SIZE}, got ${opts.size}`);
  }
  const listing = await listFolder(root, opts.warn);
  const key = folderFingerprint(root, opts.size, opts.channels, listing);
  let data = await readFolderCache(opts.cacheDir, key);
  if (data === null) {
    const unreadable: UnreadableImage[] = [];
    const train = await decodeSplit(root, listing.files.filter((f) => f.split === 'train'), opts, unreadable);
    const test = await decodeSplit(root, listing.files.filter((f) => f.split === 'test'), opts, unreadable);
    unreadable.sort((a, b) => (a.file < b.file ? -1 : 1));
    data = { classNames: listing.classNames, train, test, unreadable };
    await writeFolderCache(opts.cacheDir, key, data).catch((err: unknown) => opts.warn(`image cache not written (${reasonOf(err)}); the next run decodes again`));
  }
  if (listing.ignored > 0) opts.warn(`${root}: ${listing.ignored} file(s) without a .png/.jpg/.jpeg name were not read`);
  reportUnreadable(root, listing.files.length, data.unreadable, opts.warn);
  for (const split of ['train', 'test'] as const) {
    if (data[split].count === 0) throw new Error(`${join(root, split)}: no readable image (${split}/<class>/*.png|jpg|jpeg); a data set needs both splits`);
  }
  return { classNames: data.classNames, train: data.train, test: data.test };
}
