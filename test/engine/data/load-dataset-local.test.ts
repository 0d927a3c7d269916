import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../../engine/data/load-dataset.js';
import { generateSynthetic } from '../../../engine/data/synthetic.js';

const SYSTEM_FASHION = '/usr/share/datasets/fashion-mnist';

describe('loadDataset without downloads', () => {
  it('builds the synthetic set from the seed and limits', async () => {
    const ds = await loadDataset('synthetic', { seed: 4, limitTrain: 20, limitTest: 10 });
    const direct = generateSynthetic({ seed: 4, trainCount: 20, testCount: 10 });
    expect(ds.train.count).toBe(20);
    expect(ds.test.count).toBe(10);
    expect(Buffer.from(ds.train.images).equals(Buffer.from(direct.train.images))).toBe(true);
  });

  it.skipIf(!existsSync(SYSTEM_FASHION))('reads Debian’s Fashion-MNIST with limits: 28x28x1, labels 0..9', async () => {
    const ds = await loadDataset('fashion-mnist', { dataDir: '/nonexistent-contsup-cache', download: false, limitTrain: 500, limitTest: 200 });
    expect(ds.numClasses).toBe(10);
    expect(ds.train).toMatchObject({ count: 500, height: 28, width: 28, channels: 1 });
    expect(ds.test).toMatchObject({ count: 200, height: 28, width: 28, channels: 1 });
    expect(ds.train.images.length).toBe(500 * 784);
    const seen = new Set(ds.train.labels);
    expect(Math.max(...seen)).toBeLessThanOrEqual(9);
    expect(seen.size).toBe(10);
    expect(ds.preprocess).toMatchObject({ mean: [0.5], std: [0.5], pad: 0, flip: true });
  });

  it.skipIf(!existsSync(SYSTEM_FASHION))('reads the full official Fashion-MNIST sizes (60000/10000)', async () => {
    const ds = await loadDataset('fashion-mnist', { dataDir: '/nonexistent-contsup-cache', download: false });
    expect(ds.train.count).toBe(60000);
    expect(ds.test.count).toBe(10000);
  });
});
