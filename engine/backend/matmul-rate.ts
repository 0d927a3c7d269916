import * as tf from '@tensorflow/tfjs-core';

/**
 * Waits for a tensor's values: `readSync` on Node backends, `readAsync` where
 * a backend cannot read synchronously (WebGPU in the browser).
 */
export type ReadBack = (t: tf.Tensor) => unknown;

export const readSync: ReadBack = (t) => t.dataSync();
export const readAsync: ReadBack = (t) => t.data();

/**
 * GFLOP/s of a size x size by size x size tf.matMul on the current backend: the
 * reference rate that training-step timings are compared with. One warm-up (kernel
 * set-up, weight packing, JIT), then the median of `reps` timed runs; the read-back
 * is inside the timing so asynchronous backends are measured to completion.
 */
export async function measureMatMulRate(size = 1024, reps = 5, read: ReadBack = readSync): Promise<number> {
  const a = tf.randomUniform([size, size], -1, 1);
  const b = tf.randomUniform([size, size], -1, 1);
  try {
    const run = async (): Promise<number> => {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      await read(c);
      const ms = performance.now() - t0;
      c.dispose();
      return ms;
    };
    await run();
    const times: number[] = [];
    for (let i = 0; i < Math.max(1, reps); i++) times.push(await run());
    times.sort((x, y) => x - y);
    const median = times[Math.floor(times.length / 2)]!;
    return (2 * size ** 3) / (median / 1000) / 1e9;
  } finally {
    tf.dispose([a, b]);
  }
}
