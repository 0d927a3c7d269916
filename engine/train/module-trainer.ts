import * as tf from '@tensorflow/tfjs-core';
import { binaryCrossEntropy, correctCount, crossEntropy, supervisedContrastive } from '../model/losses.js';
import type { GllNetwork, ModuleInput, ModuleOutput } from '../model/network.js';
import { Sgd, type SgdOptions } from './sgd.js';

export interface ModuleStepResult {
  loss: number;
  /** Correct predictions of the module's head; null when the head is not a classifier (supcon). */
  correct: number | null;
  count: number;
  /** h_k, detached. The caller disposes it. */
  features: tf.Tensor4D;
  /** c_k (the module input after context), detached. May be input.h itself; the caller disposes it otherwise. */
  combined: tf.Tensor4D;
}

export interface ModuleEvalResult {
  loss: number;
  correct: number | null;
  count: number;
  features: tf.Tensor4D;
  combined: tf.Tensor4D;
}

/** A step's or evaluation's results before the two scalars are read back. */
interface PendingResult {
  loss: tf.Scalar;
  correct: tf.Scalar | null;
  features: tf.Tensor4D;
  combined: tf.Tensor4D;
}

/** Frees the scalars once read. */
function finish(r: PendingResult, labels: tf.Tensor1D, loss: number, correct: number | null): ModuleStepResult {
  r.loss.dispose();
  r.correct?.dispose();
  return { loss, correct, count: labels.shape[0], features: r.features, combined: r.combined };
}

/**
 * Trains one module: forward, local loss, gradients for this module's own
 * variables only (backbone part, head, decoder and the context encoders in
 * front of it), one optimiser step.
 */
export class ModuleTrainer {
  readonly optimizer: Sgd;
  private readonly variables: tf.Variable[];
  private readonly isLast: boolean;

  constructor(readonly net: GllNetwork, readonly k: number, sgd?: SgdOptions) {
    this.optimizer = new Sgd(sgd);
    this.variables = net.trainableVariables(k);
    this.isLast = k === net.moduleCount - 1;
  }

  /** Whether this module's prediction is class logits (so it has an accuracy). */
  get classifies(): boolean {
    return this.isLast || this.net.config.loss === 'ce';
  }

  private localLoss(out: ModuleOutput, labels: tf.Tensor1D, target: tf.Tensor4D | null): tf.Scalar {
    const cfg = this.net.config;
    if (this.isLast) return crossEntropy(out.prediction, labels);
    const cls = cfg.loss === 'supcon'
      ? supervisedContrastive(out.prediction, labels, cfg.numClasses)
      : crossEntropy(out.prediction, labels);
    if (!out.reconstruction) return cls;
    if (!target) throw new Error(`module ${this.k} has a decoder and needs the unit-range image as its target`);
    const { a, b } = this.net.lossWeights(this.k);
    return tf.add(tf.mul(binaryCrossEntropy(out.reconstruction, target), a), tf.mul(cls, b));
  }

  step(input: ModuleInput, labels: tf.Tensor1D, target: tf.Tensor4D | null, lr: number): ModuleStepResult {
    const r = this.stepTensors(input, labels, target, lr);
    return finish(r, labels, r.loss.dataSync()[0]!, r.correct === null ? null : r.correct.dataSync()[0]!);
  }

  /**
   * `step`, reading the loss and accuracy asynchronously. Same numbers; what
   * devices use, because WebGPU cannot read a tensor synchronously (in current
   * Chrome the synchronous readback path loses the GPU device).
   */
  async stepAsync(input: ModuleInput, labels: tf.Tensor1D, target: tf.Tensor4D | null, lr: number): Promise<ModuleStepResult> {
    const r = this.stepTensors(input, labels, target, lr);
    const [loss, correct] = await Promise.all([r.loss.data(), r.correct?.data()]);
    return finish(r, labels, loss[0]!, correct === undefined ? null : correct[0]!);
  }

  /** Forward, local loss, gradients of this module's variables, one optimiser step; the scalars are still tensors. */
  private stepTensors(input: ModuleInput, labels: tf.Tensor1D, target: tf.Tensor4D | null, lr: number): PendingResult {
    let features: tf.Tensor4D | null = null;
    let combined: tf.Tensor4D | null = null;
    let correct: tf.Scalar | null = null;
    // greedy: gradients are taken for this module's variables only, and the
    // inputs are plain tensors, so module k's loss never reaches module k-1.
    const { value, grads } = tf.variableGrads(() => {
      const out = this.net.forward(this.k, input, true);
      features = tf.keep(out.features);
      combined = out.combined === input.h ? input.h : tf.keep(out.combined);
      if (this.classifies) correct = tf.keep(correctCount(out.prediction, labels));
      return this.localLoss(out, labels, target);
    }, this.variables);
    this.optimizer.apply(this.variables, grads, lr);
    tf.dispose(grads);
    return { loss: value, correct, features: features!, combined: combined! };
  }

  /** Inference-mode forward (BN running statistics), no update. */
  evaluate(input: ModuleInput, labels: tf.Tensor1D, target: tf.Tensor4D | null): ModuleEvalResult {
    const r = this.evalTensors(input, labels, target);
    return finish(r, labels, r.loss.dataSync()[0]!, r.correct === null ? null : r.correct.dataSync()[0]!);
  }

  /** `evaluate`, reading the scalars asynchronously (see stepAsync). */
  async evaluateAsync(input: ModuleInput, labels: tf.Tensor1D, target: tf.Tensor4D | null): Promise<ModuleEvalResult> {
    const r = this.evalTensors(input, labels, target);
    const [loss, correct] = await Promise.all([r.loss.data(), r.correct?.data()]);
    return finish(r, labels, loss[0]!, correct === undefined ? null : correct[0]!);
  }

  private evalTensors(input: ModuleInput, labels: tf.Tensor1D, target: tf.Tensor4D | null): PendingResult {
    let features: tf.Tensor4D | null = null;
    let combined: tf.Tensor4D | null = null;
    let correct: tf.Scalar | null = null;
    const loss = tf.tidy(() => {
      const out = this.net.forward(this.k, input, false);
      features = tf.keep(out.features);
      combined = out.combined === input.h ? input.h : tf.keep(out.combined);
      if (this.classifies) correct = tf.keep(correctCount(out.prediction, labels));
      return this.localLoss(out, labels, target);
    });
    return { loss, correct, features: features!, combined: combined! };
  }

  /** Bytes this module holds between steps: its parameters, BN state and momentum buffers. */
  get stateBytes(): number {
    return this.net.moduleParams(this.k).reduce((n, p) => n + p.variable.size * 4, 0) + this.optimizer.bytes;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
