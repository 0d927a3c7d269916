import * as tf from '@tensorflow/tfjs-core';

/** Kernels whose gradients every model here needs; a registry without them cannot train. */
const PROBE_KERNELS = ['Conv2D', 'Sum', 'Multiply', 'BatchMatMul'];

/** True when tfjs-core's gradient definitions are registered in this process. */
export function hasCoreGradients(): boolean {
  // getGradient is typed as always returning a config, but yields undefined when absent.
  return PROBE_KERNELS.every((name) => (tf.getGradient(name) as tf.GradConfig | undefined) !== undefined);
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * Makes autodiff (tf.grad, tf.variableGrads) work. `@tensorflow/tfjs-core` alone
 * registers no gradients (the `@tensorflow/tfjs` umbrella package normally does), so
 * without this every gradient fails with "gradient function not found for Sum".
 */
export async function ensureGradients(): Promise<void> {
  if (hasCoreGradients()) return;
  if (isNode()) {
    const { loadCoreGradientsInNode } = await import('./node-gradients.js');
    await loadCoreGradientsInNode();
  } else {
    // Bundlers resolve tfjs-core's ESM build, so the plain side-effect module works there.
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  }
  if (!hasCoreGradients()) {
    throw new Error('tfjs-core gradients could not be registered: tf.grad will not work');
  }
}
