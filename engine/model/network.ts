import * as tf from '@tensorflow/tfjs-core';
import { headHiddenWidth, parseContext, validateModelConfig, type ContextMode, type ModelConfig } from './config.js';
import { ImageEncoder, FeatureEncoder } from './context.js';
import { Decoder, decoderLossWeights } from './decoder.js';
import { Classifier, LocalHead } from './heads.js';
import { DEFAULT_BN, type BatchNormOptions, type Owner } from './layers.js';
import { ParamStore, type Param, type ParamRole } from './params.js';
import { partitionUnits } from './partition.js';
import { BLOCKS_PER_STAGE, backboneUnits, type UnitSpec } from './backbone.js';
import { buildUnit, type Unit } from './resnet.js';

/** What enters module k. All tensors are treated as constants: nothing upstream is trained by module k. */
export interface ModuleInput {
  /** Output h_{k-1} of module k-1 before any context; for module 0 the normalised image. */
  h: tf.Tensor4D;
  /** The normalised image: the E context source. Null when the mode has no E. */
  image: tf.Tensor4D | null;
  /** Combined inputs of earlier modules, oldest first, ending with c_{k-1}: the R sources. */
  history: tf.Tensor4D[];
}

export interface ModuleOutput {
  /** h_k: the module's output features (for the last module, the final feature map). */
  features: tf.Tensor4D;
  /** c_k: the module's input after context was added (what R sources of later cuts see). */
  combined: tf.Tensor4D;
  /** Local head output (logits, or an embedding for supcon) or, for the last module, the network's logits. */
  prediction: tf.Tensor2D;
  /** Decoder output in [0, 1] when the module has a decoder. */
  reconstruction: tf.Tensor4D | null;
}

interface ContextSource {
  /** How many modules back the source is: 1 = c_{k-1}. */
  back: number;
  encoder: FeatureEncoder;
}

class GllModule {
  readonly units: Unit[] = [];
  imageEncoder: ImageEncoder | null = null;
  readonly sources: ContextSource[] = [];
  head: LocalHead | null = null;
  classifier: Classifier | null = null;
  decoder: Decoder | null = null;

  constructor(readonly index: number, readonly unitRange: [number, number]) {}

  get inSpec(): UnitSpec {
    return this.units[0].spec;
  }

  get outSpec(): UnitSpec {
    return this.units[this.units.length - 1].spec;
  }
}

/**
 * A CIFAR-style ResNet cut into K gradient-isolated modules, each with its
 * local head (the last with the network's classifier), optional decoder, and
 * the context encoders of the cut in front of it. Pure model: no training, no I/O.
 */
export class GllNetwork {
  readonly config: ModelConfig;
  readonly mode: ContextMode;
  readonly store: ParamStore;
  private readonly mods: GllModule[] = [];

  constructor(config: ModelConfig) {
    validateModelConfig(config);
    this.config = config;
    this.mode = parseContext(config.context);
    this.store = new ParamStore(config.seed);
    const specs = backboneUnits(config.model, config.inChannels, config.inputSize);
    const ranges = partitionUnits(config.model, BLOCKS_PER_STAGE[config.model], config.modules, config.partition);
    const k = ranges.length;
    const localOut = config.loss === 'supcon' ? config.featureDim : config.numClasses;
    const bn: BatchNormOptions = { momentum: config.bnMomentum ?? DEFAULT_BN.momentum, eps: config.bnEps ?? DEFAULT_BN.eps };
    ranges.forEach((range, m) => {
      const mod = new GllModule(m, range);
      const own = (role: ParamRole): Owner => ({ store: this.store, module: m, role, bn });
      for (let u = range[0]; u < range[1]; u++) mod.units.push(buildUnit(own('backbone'), specs[u]));
      const { inChannels: c, inSize: s } = mod.inSpec;
      if (m > 0) {
        if (this.mode.image) mod.imageEncoder = new ImageEncoder(own('context'), `m${m}/ctx/e`, config.inChannels, c, s, config.widen);
        for (let back = 1; back <= this.mode.recent; back++) {
          const src = m - back;
          // Sources before the network's start do not exist; in RnE the image reaches this cut through E only.
          if (src < 0 || (src === 0 && this.mode.image)) continue;
          const srcSpec = this.mods[src].inSpec;
          mod.sources.push({ back, encoder: new FeatureEncoder(own('context'), `m${m}/ctx/r${back}`, srcSpec.inChannels, c, s) });
        }
      }
      const out = mod.outSpec;
      if (m === k - 1) {
        mod.classifier = new Classifier(own('backbone'), out.outChannels, config.numClasses);
      } else {
        mod.head = new LocalHead(own('head'), `m${m}/head`, config.head, out.outChannels, localOut, config.widen, headHiddenWidth(config));
        if (config.decoder) mod.decoder = new Decoder(own('decoder'), `m${m}/dec`, out.outChannels, config.inChannels, config.inputSize, config.widen, config.auxNets === 'release');
      }
      this.mods.push(mod);
    });
  }

  get moduleCount(): number {
    return this.mods.length;
  }

  /** How many earlier module inputs the R context keeps around (the history length a stage forwards). */
  get historyLength(): number {
    return this.mode.recent;
  }

  /** Backbone unit range [start, end) of module k. */
  unitRange(k: number): [number, number] {
    return this.mod(k).unitRange;
  }

  /** Backbone units of module k. */
  unitSpecs(k: number): UnitSpec[] {
    return this.mod(k).units.map((u) => u.spec);
  }

  /** Module indices whose inputs are R sources at the cut in front of module k (most recent first). */
  contextSources(k: number): number[] {
    return this.mod(k).sources.map((s) => k - s.back);
  }

  /** Whether the image is an E source at the cut in front of module k. */
  usesImage(k: number): boolean {
    return this.mod(k).imageEncoder !== null;
  }

  /** Shape of h_k without the batch dimension: [H, W, C]. */
  outputShape(k: number): [number, number, number] {
    const s = this.mod(k).outSpec;
    return [s.outSize, s.outSize, s.outChannels];
  }

  /** Shape of module k's input without the batch dimension (for k = 0 the image). */
  inputShape(k: number): [number, number, number] {
    const s = this.mod(k).inSpec;
    return [s.inSize, s.inSize, s.inChannels];
  }

  /** Reconstruction / classification weights of module k's local loss. */
  lossWeights(k: number): { a: number; b: number } {
    if (!this.config.decoder || k === this.mods.length - 1) return { a: 0, b: 1 };
    return decoderLossWeights(this.mods.length, k);
  }

  hasDecoder(k: number): boolean {
    return this.mod(k).decoder !== null;
  }

  /**
   * Runs module k. Tensors returned are new; call inside tf.tidy (or dispose
   * them) — the caller owns them.
   */
  forward(k: number, input: ModuleInput, training: boolean): ModuleOutput {
    const mod = this.mod(k);
    const context = this.contextSum(k, input, training);
    const combined: tf.Tensor4D = context ? tf.add(input.h, context) : input.h;
    let x = combined;
    for (const unit of mod.units) x = unit.apply(x, training);
    const prediction = mod.classifier ? mod.classifier.apply(x) : mod.head!.apply(x, training);
    const reconstruction = mod.decoder ? mod.decoder.apply(x, training) : null;
    return { features: x, combined, prediction, reconstruction };
  }

  /**
   * The context added at the cut in front of module k: the sum of its encoders'
   * outputs, or null when the mode adds nothing there (R0, module 0).
   */
  contextSum(k: number, input: ModuleInput, training: boolean): tf.Tensor4D | null {
    const mod = this.mod(k);
    const terms: tf.Tensor4D[] = [];
    if (mod.imageEncoder) {
      if (!input.image) throw new Error(`module ${k} needs the image for context ${this.config.context}, none was given`);
      terms.push(mod.imageEncoder.apply(input.image, training));
    }
    for (const { back, encoder } of mod.sources) {
      const src = input.history[input.history.length - back];
      if (!src) throw new Error(`module ${k} needs the input of module ${k - back} for context ${this.config.context}; history has ${input.history.length} entries`);
      terms.push(encoder.apply(src, training));
    }
    if (terms.length === 0) return null;
    return terms.length === 1 ? terms[0] : tf.addN(terms);
  }

  /** Parameters (and BN state) of module k, in a fixed order. */
  moduleParams(k: number): Param[] {
    return this.store.params.filter((p) => p.module === k);
  }

  trainableVariables(k: number): tf.Variable[] {
    return this.moduleParams(k).filter((p) => p.trainable).map((p) => p.variable);
  }

  /** Trained parameter count per group, as in the reference table (BN running stats excluded). */
  paramCounts(): Record<ParamRole, number> {
    const counts: Record<ParamRole, number> = { backbone: 0, head: 0, context: 0, decoder: 0 };
    for (const p of this.store.params) if (p.trainable) counts[p.role] += p.variable.size;
    return counts;
  }

  dispose(): void {
    this.store.dispose();
  }

  private mod(k: number): GllModule {
    const m = this.mods[k];
    if (!m) throw new Error(`module ${k} does not exist: the network has ${this.mods.length} modules`);
    return m;
  }
}
