import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../engine/data/load-dataset.js';
import { writeImage as image } from './image-folder-fixture.js';
import { tempDir } from './temp-dir.js';

const RED = { r: 250, g: 0, b: 0 };
const BLUE = { r: 0, g: 0, b: 250 };

describe('image-folder data sets (folder:PATH)', () => {
  const tmp = tempDir('contsup-folder-');
  const root = join(tmp.dir, 'pets');
  const cache = join(tmp.dir, 'cache');

  beforeAll(async () => {
    await image(join(root, 'train/cat/wide.png'), 40, 30, RED, 'png');
    await image(join(root, 'train/cat/small.jpg'), 10, 10, RED, 'jpeg');
    await image(join(root, 'train/cat/one-pixel.png'), 1, 1, RED, 'png');
    await image(join(root, 'train/cat/photo.JPEG'), 4000, 3000, RED, 'jpeg');
    await image(join(root, 'train/dog/tall.png'), 20, 50, BLUE, 'png');
    await image(join(root, 'train/dog/b.jpeg'), 33, 33, BLUE, 'jpeg');
    writeFileSync(join(root, 'train/dog/broken.png'), Buffer.from('this is not a png'));
    writeFileSync(join(root, 'train/dog/notes.txt'), 'not an image');
    mkdirSync(join(root, 'train/empty'), { recursive: true });
    await image(join(root, 'test/cat/t1.png'), 32, 32, RED, 'png');
    await image(join(root, 'test/dog/t2.jpg'), 64, 48, BLUE, 'jpeg');
  }, 60_000);
  afterAll(() => tmp.cleanup());

  it('loads PNG and JPEG files of any size with class names from the sorted folders, naming the unreadable file', async () => {
    const warnings: string[] = [];
    const data = await loadDataset(`folder:${root}`, { dataDir: cache, onWarning: (m) => warnings.push(m) });
    expect(data.classNames).toEqual(['cat', 'dog', 'empty']);
    expect(data.numClasses).toBe(3);
    expect(data.train).toMatchObject({ count: 6, height: 32, width: 32, channels: 3 });
    expect(data.test).toMatchObject({ count: 2, height: 32, width: 32, channels: 3 });
    expect([...data.train.labels].sort()).toEqual([0, 0, 0, 0, 1, 1]);
    expect([...data.test.labels].sort()).toEqual([0, 1]);
    // Each image's pixels match its label's colour (the 1x1 and the 4000x3000 included).
    for (let i = 0; i < data.train.count; i++) {
      const px = data.train.images.subarray(i * 32 * 32 * 3, i * 32 * 32 * 3 + 3);
      const [r, , b] = [...px];
      expect(data.train.labels[i] === 0 ? r! > 200 && b! < 50 : b! > 200 && r! < 50, `image ${i}`).toBe(true);
    }
    const text = warnings.join('\n');
    expect(text).toContain('1 of 9 images could not be read and are left out');
    expect(text).toContain(join('train', 'dog', 'broken.png'));
    expect(text).toMatch(/without images: empty/);
    expect(text).toMatch(/1 file\(s\) without a \.png\/\.jpg\/\.jpeg name/);
  }, 60_000);

  it('decodes once: the next load reads the uint8 cache, a changed file makes a new one', async () => {
    const quiet = { dataDir: cache, onWarning: () => undefined, inputSize: 16 };
    const first = await loadDataset(`folder:${root}`, quiet);
    const files = (): string[] => readdirSync(join(cache, 'image-folders'));
    const before = files().length;
    const again = await loadDataset(`folder:${root}`, quiet);
    expect(files().length).toBe(before);
    expect(again.train.images).toEqual(first.train.images);
    expect(again.classNames).toEqual(first.classNames);
    utimesSync(join(root, 'test/cat/t1.png'), new Date(), new Date(Date.now() + 5000));
    await loadDataset(`folder:${root}`, quiet);
    expect(files().length).toBe(before + 1);
  }, 60_000);

  it('the cache still reports the unreadable file', async () => {
    const warnings: string[] = [];
    await loadDataset(`folder:${root}`, { dataDir: cache, onWarning: (m) => warnings.push(m) });
    expect(warnings.join('\n')).toContain('broken.png');
  }, 60_000);

  it('resizes to --input-size and converts to one channel on request', async () => {
    const data = await loadDataset(`folder:${root}`, { dataDir: cache, onWarning: () => undefined, inputSize: 8, channels: 1 });
    expect(data.train).toMatchObject({ count: 6, height: 8, width: 8, channels: 1 });
    expect(data.train.images.length).toBe(6 * 8 * 8);
    expect(data.preprocess.mean).toEqual([0.5]);
  }, 60_000);

  it('is an error when a split has no readable image, naming the split', async () => {
    const bad = join(tmp.dir, 'bad');
    await image(join(bad, 'train/a/x.png'), 4, 4, RED, 'png');
    await image(join(bad, 'train/b/y.png'), 4, 4, BLUE, 'png');
    mkdirSync(join(bad, 'test/a'), { recursive: true });
    writeFileSync(join(bad, 'test/a/z.jpg'), Buffer.from('garbage'));
    const warnings: string[] = [];
    await expect(loadDataset(`folder:${bad}`, { dataDir: cache, onWarning: (m) => warnings.push(m) })).rejects.toThrow(/bad[\\/]test: no readable image/);
    expect(warnings.join('\n')).toContain(join('test', 'a', 'z.jpg'));
  }, 60_000);

  it('refuses a test class that train/ lacks and a folder without train/', async () => {
    const odd = join(tmp.dir, 'odd');
    await image(join(odd, 'train/a/x.png'), 4, 4, RED, 'png');
    await image(join(odd, 'train/b/x.png'), 4, 4, RED, 'png');
    await image(join(odd, 'test/c/x.png'), 4, 4, RED, 'png');
    await expect(loadDataset(`folder:${odd}`, { dataDir: cache })).rejects.toThrow(/class folder\(s\) c are not in train/);
    await expect(loadDataset(`folder:${join(tmp.dir, 'nowhere')}`, { dataDir: cache })).rejects.toThrow(/no train\/ folder/);
  });
});
