import * as tf from '@tensorflow/tfjs-core';

/**
 * Forward FLOPs of whatever `run` computes, read off the kernels tf.profile
 * records: 2 x multiply-adds of every Conv2D and (Batch)MatMul. Element-wise
 * kernels are left out: they are memory-bound and a small share of the work.
 */
export async function countFlops(run: () => void): Promise<number> {
  const info = await tf.profile(() => {
    tf.tidy(run);
  });
  let flops = 0;
  for (const k of info.kernels) {
    const [a, b] = k.inputShapes;
    const out = k.outputShapes[0];
    if (!a || !b || !out) continue;
    if (k.name === 'Conv2D' || k.name === 'FusedConv2D') {
      const [kh, kw, cin] = b;
      flops += 2 * out.reduce((p, d) => p * d, 1) * kh * kw * cin;
    } else if (k.name === 'BatchMatMul' || k.name === '_FusedMatMul') {
      const m = out[out.length - 2];
      // The shared dimension is whichever of a's last two is not the output's rows.
      const inner = a[a.length - 2] === m ? a[a.length - 1] : a[a.length - 2];
      flops += 2 * out.reduce((p, d) => p * d, 1) * inner;
    }
  }
  return flops;
}
