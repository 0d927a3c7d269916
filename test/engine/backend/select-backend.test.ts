import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { measureMatMulRate } from '../../../engine/backend/matmul-rate.js';
import { hasFastConvGradients } from '../../../engine/backend/fast-conv-grads.js';
import { hasCoreGradients } from '../../../engine/backend/gradients.js';
import { probeNodeAdapter } from '../../../engine/backend/node-webgpu.js';
import { backendThreads, describeBackend, selectBackend } from '../../../engine/backend/select-backend.js';

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

// On machines with tfjs-node the automatic choice is legitimately 'tensorflow'.
const noNative = !installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu') && !(await hardwareAdapter());

/** True on a machine whose dawn.node adapter is a real GPU: the automatic choice is webgpu there. */
async function hardwareAdapter(): Promise<boolean> {
  try {
    return !(await probeNodeAdapter()).software;
  } catch {
    return false;
  }
}

describe('selectBackend', () => {
  it.runIf(noNative)('falls back to wasm without tfjs-node and the native addon, logging one line per skipped backend', async () => {
    const lines: string[] = [];
    process.env.CONTSUP_NATIVE = 'off';
    try {
      expect(await selectBackend(undefined, (m) => lines.push(m))).toBe('wasm');
    } finally {
      delete process.env.CONTSUP_NATIVE;
    }
    expect(tf.getBackend()).toBe('wasm');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^backend tensorflow-gpu skipped: .*tfjs-node-gpu/);
    // No adapter, no dawn.node, or (here, on lavapipe) a software adapter: never webgpu automatically.
    expect(lines[1]).toMatch(/^backend webgpu skipped: /);
    expect(lines[2]).toMatch(/^backend tensorflow skipped: .*tfjs-node/);
    expect(lines[3]).toMatch(/^backend native skipped: the native addon is hidden/);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
  });

  it('describes the wasm backend with its SIMD and thread count', async () => {
    await selectBackend('wasm');
    expect(describeBackend()).toMatch(/^wasm \((no )?SIMD, \d+ threads?\)$/);
  });

  it('leaves a wasm backend that can train: core gradients and fast conv gradients', async () => {
    await selectBackend('wasm');
    expect(hasCoreGradients()).toBe(true);
    expect(hasFastConvGradients('wasm')).toBe(true);
    const g = tf.tidy(() => {
      const w = tf.ones([3, 3, 2, 4]);
      return tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(tf.ones([1, 5, 5, 2]) as tf.Tensor4D, f as tf.Tensor4D, 2, 'same')))(w).dataSync();
    });
    // Center tap of a 'same' stride-2 conv on 5x5 sees all 9 output positions.
    expect(g[(1 * 3 + 1) * 2 * 4]).toBe(9);
  });

  it('switches to cpu on request and registers its fast conv gradients', async () => {
    expect(await selectBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(hasFastConvGradients('cpu')).toBe(true);
    expect(describeBackend()).toBe('cpu (pure JavaScript)');
  });

  it('reports the threads in use, not the threads asked for, on backends that cannot use more', async () => {
    await selectBackend('wasm', undefined, { threads: 4 });
    expect(await backendThreads()).toBe(Number(/(\d+) threads?\)$/.exec(describeBackend())![1]));
    await selectBackend('cpu', undefined, { threads: 4 });
    expect(await backendThreads()).toBe(1);
  });

  it.runIf(noNative)('explains how to fix an explicitly requested tfjs-node', async () => {
    const attempt = selectBackend('tensorflow');
    await expect(attempt).rejects.toThrow(/backend 'tensorflow' is not available: @tensorflow\/tfjs-node is not installed/);
    await expect(selectBackend('tensorflow')).rejects.toThrow(/npm install-scripts approve @tensorflow\/tfjs-node .*--backend wasm/);
    await expect(selectBackend('tensorflow-gpu')).rejects.toThrow(/CUDA 11\.2/);
  });
});

describe('measureMatMulRate', () => {
  it('reports a positive GFLOP/s rate for the current backend', async () => {
    await selectBackend('wasm');
    const before = tf.memory().numTensors;
    const rate = await measureMatMulRate(128, 3);
    expect(Number.isFinite(rate) && rate > 0).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});
