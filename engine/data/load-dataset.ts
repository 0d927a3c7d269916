/**
 * Finds, downloads (if allowed) and reads a data set into memory.
 *
 * Search order per file: `<dataDir>/<name>/` (also its tarball sub-folder and,
 * for `.gz` names, the un-gzipped name), then the set's system folders (Debian's
 * Fashion-MNIST). Files found on disk are trusted only as far as the readers'
 * structural checks go; downloads are md5-checked before they are kept.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isFolderDataset, FOLDER_DATASET_PREFIX, type DatasetSpec } from '../../protocol/names.js';
import type { Dataset, ImageSet } from './dataset.js';
import { folderPreprocess, preprocessFor, subset } from './dataset.js';
import type { DownloadProgress } from './download.js';
import { DownloadError, downloadFile, md5File } from './download.js';
import { readCifar10Files } from './readers/cifar10.js';
import { readIdxSet } from './readers/idx.js';
import { readImageFolder } from './readers/image-folder.js';
import { readStl10Pair, STL10_FILES } from './readers/stl10.js';
import { readSvhnFile } from './readers/svhn.js';
import type { DatasetSource, RealDatasetName, RemoteFile } from './sources.js';
import { DATASET_SOURCES } from './sources.js';
import { generateSyntheticChunked } from './synthetic.js';
import { extractTarGz } from './tar.js';

export interface LoadDatasetOptions {
  /** Cache root; the set lives in `<dataDir>/<name>/`. Default ~/.cache/contsup/datasets. */
  dataDir?: string;
  /** Seed of the synthetic set (default 0); ignored for real sets. */
  seed?: number;
  /** Keep only the first N training / test images (see subset()). Synthetic defaults: 5000 / 1000. */
  limitTrain?: number;
  limitTest?: number;
  onProgress?: (p: DownloadProgress) => void;
  /** Download missing files (default true). */
  download?: boolean;
  /**
   * URL overrides, mainly for tests: a key equal to the data set name gives a
   * base URL that the download's file name is appended to; a key equal to a
   * download's file name gives its full URL.
   */
  fetchBase?: Record<string, string>;
  /** md5 overrides by download file name (tests serve their own files). */
  checksums?: Record<string, string>;
  /** Replaces the set's system search folders (tests use [] to ignore /usr/share). */
  systemDirs?: string[];
  /** Image folders: side of the square images (default 32). */
  inputSize?: number;
  /** Image folders: 3 (sRGB, default) or 1 (greyscale). */
  channels?: 1 | 3;
  /** Image folders: files left out and similar news (default: stderr). */
  onWarning?: (message: string) => void;
}

/** Side image-folder sets are resized to unless told otherwise. */
export const DEFAULT_INPUT_SIZE = 32;

/** No local copy and the download failed or was disabled; says what to put where. */
export class DatasetUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatasetUnavailableError';
  }
}

export function defaultDataDir(): string {
  return join(homedir(), '.cache', 'contsup', 'datasets');
}

const SYNTHETIC_TRAIN = 5000;
const SYNTHETIC_TEST = 1000;

/** Paths under `dir` that may hold local file `name`. */
function candidates(dir: string, name: string, source: DatasetSource): string[] {
  const names = name.endsWith('.gz') ? [name, name.slice(0, -3)] : [name];
  const out: string[] = [];
  for (const sub of ['', ...source.subdirs]) for (const n of names) out.push(join(dir, sub, n));
  return out;
}

function findLocal(dirs: readonly string[], name: string, source: DatasetSource): string | undefined {
  for (const dir of dirs) for (const p of candidates(dir, name, source)) if (existsSync(p)) return p;
  return undefined;
}

function remoteUrl(name: RealDatasetName, remote: RemoteFile, fetchBase: Record<string, string> | undefined): string {
  if (fetchBase?.[remote.name]) return fetchBase[remote.name];
  const base = fetchBase?.[name];
  if (base) return `${base}${base.endsWith('/') ? '' : '/'}${remote.name}`;
  return remote.url;
}

/** Remote downloads that provide the given missing local files. */
function downloadsFor(source: DatasetSource, missing: readonly string[]): RemoteFile[] {
  return source.remote.filter((r) => (r.members ? Object.values(r.members).some((f) => missing.includes(f)) : missing.includes(r.name)));
}

function manualInstructions(name: RealDatasetName, dir: string, needed: RemoteFile[], opts: LoadDatasetOptions): string {
  const lines = needed.map((r) => {
    const target = join(dir, r.name);
    const unpack = r.members ? ` (unpacked on the next run; or put ${Object.values(r.members).join(', ')} there yourself)` : '';
    return `  ${remoteUrl(name, r, opts.fetchBase)} -> ${target}${unpack}`;
  });
  const apt = name === 'fashion-mnist' ? '\nOn Debian, `apt-get install dataset-fashion-mnist` installs the set under /usr/share/datasets/fashion-mnist/.' : '';
  return `Without network access, download these files elsewhere and put them into ${dir}/:\n${lines.join('\n')}${apt}`;
}

async function fetchMissing(name: RealDatasetName, source: DatasetSource, dir: string, missing: string[], opts: LoadDatasetOptions): Promise<void> {
  const needed = downloadsFor(source, missing);
  if (opts.download === false) {
    throw new DatasetUnavailableError(
      `The ${name} data set is missing ${missing.join(', ')} and downloading is disabled.\n${manualInstructions(name, dir, needed, opts)}`,
    );
  }
  for (const remote of needed) {
    const dest = join(dir, remote.name);
    const md5 = opts.checksums?.[remote.name] ?? remote.md5;
    // An archive the user dropped into the folder is used if it is the official one.
    if (!(remote.members && existsSync(dest))) {
      try {
        await downloadFile(remoteUrl(name, remote, opts.fetchBase), dest, { md5, onProgress: opts.onProgress, label: remote.name });
      } catch (err: unknown) {
        if (!(err instanceof DownloadError)) throw err;
        throw new DatasetUnavailableError(`${err.message}\n${manualInstructions(name, dir, needed, opts)}`, { cause: err });
      }
    } else {
      const got = await md5File(dest);
      if (got !== md5) {
        throw new DatasetUnavailableError(`${dest}: md5 ${got} does not match the official ${md5}. Delete it and rerun to download again, or replace it.`);
      }
    }
    if (remote.members) {
      const members = Object.fromEntries(
        Object.entries(remote.members).filter(([, local]) => missing.includes(local)).map(([m, local]) => [m, join(dir, local)]),
      );
      await extractTarGz(dest, members);
      // The members are what we read; the archive would only double the disk use.
      await rm(dest, { force: true });
    }
  }
}

function limited(set: ImageSet, limit: number | undefined): ImageSet {
  const s = subset(set, limit);
  // Copy so a small limit does not pin the full decoded set in memory.
  return s === set ? set : { ...s, images: s.images.slice(), labels: s.labels.slice() };
}

/** Loads a data set; see LoadDatasetOptions. Throws DatasetFileError / DatasetUnavailableError. */
export async function loadDataset(name: DatasetSpec, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  if (isFolderDataset(name)) return loadFolder(name.slice(FOLDER_DATASET_PREFIX.length), name, opts);
  if (name === 'synthetic') {
    return generateSyntheticChunked({ seed: opts.seed ?? 0, trainCount: opts.limitTrain ?? SYNTHETIC_TRAIN, testCount: opts.limitTest ?? SYNTHETIC_TEST });
  }
  const source = DATASET_SOURCES[name];
  if (!source) throw new RangeError(`unknown data set '${String(name)}'`);
  const dir = join(opts.dataDir ?? defaultDataDir(), name);
  const dirs = [dir, ...(opts.systemDirs ?? source.systemDirs)];
  let paths = new Map(source.files.map((f) => [f, findLocal(dirs, f, source)]));
  const missing = source.files.filter((f) => paths.get(f) === undefined);
  if (missing.length > 0) {
    await fetchMissing(name, source, dir, missing, opts);
    paths = new Map(source.files.map((f) => [f, findLocal(dirs, f, source)]));
  }
  const path = (f: string): string => {
    const p = paths.get(f);
    if (p === undefined) throw new DatasetUnavailableError(`${join(dir, f)} is still missing after the download`);
    return p;
  };
  let train: ImageSet;
  let test: ImageSet;
  switch (name) {
    case 'cifar10':
      train = await readCifar10Files(source.files.slice(0, 5).map(path));
      test = await readCifar10Files([path(source.files[5])]);
      break;
    case 'svhn':
      train = await readSvhnFile(path('train_32x32.mat'));
      test = await readSvhnFile(path('test_32x32.mat'));
      break;
    case 'stl10':
      train = await readStl10Pair(path(STL10_FILES.train.images), path(STL10_FILES.train.labels), STL10_FILES.train.count);
      test = await readStl10Pair(path(STL10_FILES.test.images), path(STL10_FILES.test.labels), STL10_FILES.test.count);
      break;
    case 'mnist':
    case 'fashion-mnist':
      train = await readIdxSet(path('train-images-idx3-ubyte.gz'), path('train-labels-idx1-ubyte.gz'));
      test = await readIdxSet(path('t10k-images-idx3-ubyte.gz'), path('t10k-labels-idx1-ubyte.gz'));
      break;
  }
  return {
    name,
    numClasses: source.numClasses,
    train: limited(train, opts.limitTrain),
    test: limited(test, opts.limitTest),
    preprocess: preprocessFor(name),
  };
}

async function loadFolder(root: string, name: DatasetSpec, opts: LoadDatasetOptions): Promise<Dataset> {
  const size = opts.inputSize ?? DEFAULT_INPUT_SIZE;
  const channels = opts.channels ?? 3;
  const warn = opts.onWarning ?? ((m: string) => void process.stderr.write(`warning: ${m}\n`));
  const data = await readImageFolder(root, { size, channels, cacheDir: opts.dataDir ?? defaultDataDir(), warn });
  return {
    name,
    numClasses: data.classNames.length,
    classNames: data.classNames,
    train: limited(data.train, opts.limitTrain),
    test: limited(data.test, opts.limitTest),
    preprocess: folderPreprocess(size, channels),
  };
}
