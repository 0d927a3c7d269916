import * as tf from '@tensorflow/tfjs-core';

/**
 * GFLOP/s of a size x size by size x size tf.matMul on the current backend: the
 * reference rate that training-step timings are compared with. One warm-up (kernel
 * set-up, weight packing, JIT), then the median of `reps` timed runs; dataSync is
 * inside the timing so asynchronous backends are measured to completion.
 */
export function measureMatMulRate(size = 1024, reps = 5): number {
  const a = tf.randomUniform([size, size], -1, 1);
  const b = tf.randomUniform([size, size], -1, 1);
  try {
    const run = (): number => {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      c.dataSync();
      const ms = performance.now() - t0;
      c.dispose();
      return ms;
    };
    run();
    const times = Array.from({ length: Math.max(1, reps) }, run).sort((x, y) => x - y);
    const median = times[Math.floor(times.length / 2)];
    return (2 * size ** 3) / (median / 1000) / 1e9;
  } finally {
    tf.dispose([a, b]);
  }
}
