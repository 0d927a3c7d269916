import * as tf from '@tensorflow/tfjs-core';

/** GFLOP/s of an n x n matMul on the current backend: median of `reps` runs after a warm-up, read back asynchronously. */
async function matMulRate(n: number, reps: number): Promise<number> {
  const a = tf.randomUniform([n, n], -1, 1);
  const b = tf.randomUniform([n, n], -1, 1);
  try {
    const run = async (): Promise<number> => {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      // data(), not dataSync(): WebGPU cannot read synchronously.
      await c.data();
      const ms = performance.now() - t0;
      c.dispose();
      return ms;
    };
    await run();
    const times: number[] = [];
    for (let i = 0; i < reps; i++) times.push(await run());
    times.sort((x, y) => x - y);
    return (2 * n ** 3) / (times[Math.floor(times.length / 2)]! / 1000) / 1e9;
  } finally {
    tf.dispose([a, b]);
  }
}

/**
 * What `device:join.speedGflops` reports for this tab (the planner weighs
 * stages by it): the browser twin of engine/backend/speed.ts, 256^3 first,
 * 512^3 when the backend is fast enough for timer resolution to matter.
 */
export async function measureBrowserSpeed(): Promise<number> {
  const small = await matMulRate(256, 3);
  if (!Number.isFinite(small) || small < 2) return Number.isFinite(small) ? small : 0;
  const large = await matMulRate(512, 3);
  return Number.isFinite(large) ? large : small;
}
