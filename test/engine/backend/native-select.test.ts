import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { describeBackend, selectBackend } from '../../../engine/backend/select-backend.js';
import { requestNativeThreads } from '../../../engine/backend/native/activate.js';
import { nativeSkipReason } from './native-helpers.js';

const skip = nativeSkipReason();

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
const noTfjsNode = !installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu');

describe('native backend selection', () => {
  it.runIf(skip === null && noTfjsNode)('is picked automatically before wasm when the addon loads, with its thread count', async () => {
    const lines: string[] = [];
    requestNativeThreads(1);
    expect(await selectBackend(undefined, (m) => lines.push(m))).toBe('native');
    expect(tf.getBackend()).toBe('native');
    expect(describeBackend()).toBe('native (ATen, 1 thread)');
    expect(lines.some((l) => l.startsWith('backend native'))).toBe(false);
  });

  it('fails clearly, saying how to build it, when forced but not available', async () => {
    process.env.CONTSUP_NATIVE = 'off';
    try {
      await expect(selectBackend('native')).rejects.toThrow(/backend 'native' is not available: .*apt-get install libtorch-dev.*npm run build:native/);
    } finally {
      delete process.env.CONTSUP_NATIVE;
    }
  });
});
