import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { subset, type ImageSet } from '../../../engine/data/dataset.js';
import { loadDataset } from '../../../engine/data/load-dataset.js';
import { DEFAULT_MODEL_CONFIG } from '../../../engine/model/config.js';
import { GllNetwork } from '../../../engine/model/network.js';
import { InProcessTrainer } from '../../../engine/train/gll-trainer.js';
import { useTestBackend } from '../../helpers/backend.js';

const FASHION = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const CHUNK = 1000;
const MAX_CHUNKS = 12;

/** Images [from, from + count) of a set, as a view. */
function slice(set: ImageSet, from: number, count: number): ImageSet {
  const px = set.height * set.width * set.channels;
  return { ...set, images: set.images.subarray(from * px, (from + count) * px), labels: set.labels.subarray(from, from + count), count };
}

beforeAll(useTestBackend);

describe('real data', () => {
  // Measured here: ResNet-20 passes 80% after 7,000-8,000 images (about 84% at 10,000).
  it.skipIf(!existsSync(FASHION))('a small ResNet reaches 80% test accuracy on real Fashion-MNIST within 12,000 training images', async () => {
    const data = await loadDataset('fashion-mnist', { limitTrain: CHUNK * MAX_CHUNKS, limitTest: 500, download: false });
    const net = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, model: 'resnet20', modules: 1, context: 'R0', inputSize: 28, inChannels: 1 });
    // One "epoch" per chunk of 1,000 new images, so the cosine schedule spans the whole budget.
    const trainer = new InProcessTrainer(net, { epochs: MAX_CHUNKS, batchSize: 32, lr: 0.05, seed: 1 });
    const history: number[] = [];
    for (let c = 0; c < MAX_CHUNKS; c++) {
      await trainer.trainEpoch(slice(data.train, c * CHUNK, CHUNK), data.preprocess, c + 1);
      const accuracy = 100 - (await trainer.evaluate(subset(data.test, 500), data.preprocess)).testError;
      history.push(accuracy);
      if (accuracy >= 80) break;
    }
    trainer.dispose();
    net.dispose();
    expect(Math.max(...history), `accuracy after each 1,000 images: ${history.map((a) => a.toFixed(1)).join(', ')}`).toBeGreaterThanOrEqual(80);
  }, 900_000);
});
