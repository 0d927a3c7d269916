import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernels that are not tfjs's: a backend may register them to run in one call what
 * the engine otherwise composes from many stock kernels (the native backend does).
 * Each computes the same math as the composed path, which stays the reference on
 * every other backend. Browser-safe: names only, no addon.
 */

/** inputs {x NHWC, gamma, beta}, attrs {eps} -> [y, mean, biased variance, invstd] (training-mode batch norm). */
export const BATCH_NORM_TRAIN = 'ContsupBatchNormTrain';

/** inputs {dy, x, mean, invstd, gamma}, attrs {eps} -> [dx, dGamma, dBeta] (its closed-form gradient). */
export const BATCH_NORM_TRAIN_GRAD = 'ContsupBatchNormTrainGrad';

/** inputs {v, grad, buf}, attrs {lr, momentum, weightDecay, nesterov} -> [v', buf'] (one SGD step, see sgd.ts). */
export const SGD_STEP = 'ContsupSgdStep';

/** True when the current backend registers `kernelName`. */
export function backendHasKernel(kernelName: string): boolean {
  return (tf.getKernel(kernelName, tf.getBackend()) as tf.KernelConfig | undefined) !== undefined;
}

/** Runs a fused kernel that returns several tensors. */
export function runFused(kernelName: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap): tf.Tensor[] {
  const out = tf.engine().runKernel(kernelName, inputs, attrs);
  if (!Array.isArray(out)) throw new Error(`${kernelName} returned one tensor, expected several`);
  return out;
}
