import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../../engine/backend/select-backend.js';
import type { NativeMemoryInfo } from '../../../engine/backend/native/native-backend.js';
import { generateSynthetic } from '../../../engine/data/synthetic.js';
import { DEFAULT_MODEL_CONFIG } from '../../../engine/model/config.js';
import { GllNetwork } from '../../../engine/model/network.js';
import { disposePrepared, prepareBatch } from '../../../engine/train/batches.js';
import { StageRunner } from '../../../engine/train/stage-runner.js';
import { nativeSkipReason } from './native-helpers.js';

const skip = nativeSkipReason();

function nativeMemory(): NativeMemoryInfo {
  return tf.memory() as unknown as NativeMemoryInfo & tf.MemoryInfo;
}

describe.skipIf(skip !== null)('native backend memory', () => {
  it('reports its native bytes and frees them with the tensors', async () => {
    await selectBackend('native');
    const before = nativeMemory().numBytesInNative;
    const t = tf.zeros([1000]);
    const view = tf.reshape(t, [10, 100]); // shares storage: counted once
    expect(nativeMemory().numBytesInNative - before).toBe(4000);
    tf.dispose([t, view]);
    expect(nativeMemory().numBytesInNative).toBe(before);
  });

  it('200 training steps keep numTensors, numBytes and native bytes flat and RSS growth small', async () => {
    await selectBackend('native');
    const data = generateSynthetic({ seed: 2, trainCount: 4, testCount: 2 });
    const net = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, model: 'resnet20', modules: 2, context: 'R1E', decoder: true });
    const runner = new StageRunner(net, 0, net.moduleCount - 1);
    const batch = prepareBatch(net, data.train.images, data.train.labels, [32, 32, 3], data.preprocess);
    const step = async (): Promise<void> => {
      const { output } = await runner.train(batch.input, batch.labels, batch.target, 0.01);
      const reused = new Set<tf.Tensor | null>([batch.input.h, batch.input.image, ...batch.input.history]);
      tf.dispose([output.h, ...output.history].filter((t) => !reused.has(t)));
    };
    for (let i = 0; i < 5; i++) await step(); // momentum buffers and kernel set-up
    const m0 = nativeMemory();
    const t0 = tf.memory();
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 200; i++) await step();
    const t1 = tf.memory();
    expect(t1.numTensors).toBe(t0.numTensors);
    expect(t1.numBytes).toBe(t0.numBytes);
    expect(nativeMemory().numBytesInNative).toBe(m0.numBytesInNative);
    expect(nativeMemory().numNativeTensors).toBe(m0.numNativeTensors);
    // The V8 heap alone swings by ~50 MiB between collections; the leaks this guards against
    // grew by 7 GB (glibc heap) and 200 MiB (handles awaiting GC finalizers) over 200 steps.
    expect(process.memoryUsage().rss - rss0).toBeLessThan(100 * 2 ** 20);
    disposePrepared(batch);
    runner.dispose();
    net.dispose();
  }, 600_000); // 200 steps: about 100 s on a quiet 2-core machine
});
