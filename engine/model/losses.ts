import * as tf from '@tensorflow/tfjs-core';

/** Mean softmax cross-entropy of logits [B, C] against integer labels [B]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const oneHot = tf.oneHot(labels, logits.shape[1]);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1)));
}

/**
 * Supervised contrastive loss (Khosla et al. 2020), one view per sample: for
 * each anchor, the mean log-probability of its same-class batch mates among all
 * other samples, on L2-normalised features. Anchors without a positive in the
 * batch are left out (their term is undefined).
 */
export function supervisedContrastive(features: tf.Tensor2D, labels: tf.Tensor1D, numClasses: number, temperature = 0.07): tf.Scalar {
  const b = features.shape[0];
  const z = tf.div(features, tf.add(tf.norm(features, 2, 1, true), 1e-12));
  const sim = tf.div(tf.matMul(z, z, false, true), temperature);
  // Features are unit vectors, so sim <= 1/temperature: subtracting that bound keeps
  // exp() finite, and a constant shift cancels in the log-ratio.
  const logits = tf.sub(sim, 1 / temperature);
  const notSelf = tf.sub(1, tf.eye(b));
  const oneHot = tf.cast(tf.oneHot(labels, numClasses), 'float32');
  const positives = tf.mul(tf.matMul(oneHot, oneHot, false, true), notSelf);
  const logDenom = tf.log(tf.sum(tf.mul(tf.exp(logits), notSelf), 1, true));
  const logProb = tf.sub(logits, logDenom);
  const posCount = tf.sum(positives, 1);
  const hasPos = tf.cast(tf.greater(posCount, 0), 'float32');
  const meanLogProb = tf.div(tf.sum(tf.mul(positives, logProb), 1), tf.maximum(posCount, 1));
  return tf.neg(tf.div(tf.sum(tf.mul(meanLogProb, hasPos)), tf.maximum(tf.sum(hasPos), 1)));
}

/** Mean binary cross-entropy of a prediction in (0, 1) against a target in [0, 1]. */
export function binaryCrossEntropy(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  const p = tf.clipByValue(pred, 1e-7, 1 - 1e-7);
  const t = tf.add(tf.mul(target, tf.log(p)), tf.mul(tf.sub(1, target), tf.log(tf.sub(1, p))));
  return tf.neg(tf.mean(t));
}

/** Number of rows whose argmax equals the label. */
export function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32'));
}
