import type { WireDtype } from '../../protocol/names.js';
import { BYTES_PER_ELEMENT, type TensorDtype } from '../../protocol/tensor-frame.js';
import { BLOCKS_PER_STAGE, backboneUnits, type UnitSpec } from './backbone.js';
import { headHiddenWidth, parseContext, validateModelConfig, type ContextMode, type ModelConfig } from './config.js';
import { partitionUnits } from './partition.js';

/**
 * The shape contract of a model config: every module's shapes, its context
 * sources and parameter count, and what crosses each cut on the wire. Pure
 * arithmetic on the config, no tfjs: the coordinator plans, checks and sizes
 * a job from it, and the devices' stage layout reads the same numbers, so
 * both ends cannot disagree. GllNetwork (network.ts) builds the tensors
 * these numbers describe; test/engine/model/shape-contract.test.ts holds the
 * two together.
 */

/** Per-example shape [H, W, C]. */
export type Hwc = [number, number, number];
export type { WireDtype };

export interface ModuleShape {
  index: number;
  /** Backbone units [start, end) of the whole network's unit list. */
  unitRange: [number, number];
  units: UnitSpec[];
  /** Module input [H, W, C]: for module 0 the image. */
  input: Hwc;
  /** h_k [H, W, C]. */
  output: Hwc;
  /** The E encoder sits at the cut in front of this module. */
  usesImage: boolean;
  /** Modules whose (combined) inputs feed an R encoder in front of this module, most recent first. */
  contextSources: number[];
  /** The last module has the network's classifier instead of a local head (and never a decoder). */
  isLast: boolean;
  hasDecoder: boolean;
  /** Every float the module owns: trained parameters and BN running statistics. */
  paramCount: number;
}

export interface ShapeContract {
  config: ModelConfig;
  mode: ContextMode;
  /** The raw image [H, W, C]; it travels as uint8. */
  image: Hwc;
  modules: ModuleShape[];
  /** R<n>: how many recent module inputs travel with each batch (0 without R). */
  historyLength: number;
  /** The uint8 image travels with every batch past stage 0: E context or a decoder target downstream. */
  sendsImage: boolean;
}

export interface TensorSpec {
  shape: Hwc;
  dtype: TensorDtype;
}

/** One R history entry: the combined input of module `module`. */
export interface HistoryEntry extends TensorSpec {
  module: number;
}

/** What crosses the cut after module `after`, per example. */
export interface CutCrossing {
  after: number;
  /** h_after at the wire dtype. */
  h: TensorSpec;
  /** The uint8 image, when the job sends it. */
  image: TensorSpec | null;
  /** Inputs of the last n modules up to `after`, oldest first; module 0's entry is the image itself, as uint8. */
  history: HistoryEntry[];
  /** Every tensor above plus a one-byte label. */
  bytesPerSample: number;
}

const size = (s: Hwc): number => s[0] * s[1] * s[2];
const convParams = (k: number, cin: number, cout: number, bias: boolean): number => k * k * cin * cout + (bias ? cout : 0);
/** gamma, beta, running mean, running variance. */
const bnParams = (c: number): number => 4 * c;
const linearParams = (cin: number, cout: number): number => cin * cout + cout;

/** Channels of a local head's convs (heads.ts LocalHead). */
export function headWidth(channels: number, widen: number): number {
  return Math.round((channels === 16 ? 32 : 64) * widen);
}

/** Channels inside the E encoder and the decoder (context.ts, decoder.ts). */
export function encoderWidth(widen: number): number {
  return Math.round(12 * widen);
}

function unitParams(u: UnitSpec): number {
  if (u.stage === 0) return convParams(3, u.inChannels, u.outChannels, false) + bnParams(u.outChannels);
  let n = convParams(3, u.inChannels, u.outChannels, false) + convParams(3, u.outChannels, u.outChannels, false) + 2 * bnParams(u.outChannels);
  if (u.stride !== 1 || u.inChannels !== u.outChannels) n += convParams(1, u.inChannels, u.outChannels, false) + bnParams(u.outChannels);
  return n;
}

function headParams(cfg: ModelConfig, channels: number): number {
  const width = headWidth(channels, cfg.widen);
  const out = cfg.loss === 'supcon' ? cfg.featureDim : cfg.numClasses;
  let n = 0;
  let c = channels;
  for (let i = 0; i < Number(cfg.head[0]); i++) {
    n += convParams(3, c, width, false) + bnParams(width);
    c = width;
  }
  const fcs = Number(cfg.head[2]);
  const hidden = headHiddenWidth(cfg);
  for (let i = 0; i < fcs; i++) {
    n += linearParams(c, i === fcs - 1 ? out : hidden);
    c = hidden;
  }
  return n;
}

/** Builds the contract; throws the same errors as GllNetwork for a bad config. */
export function shapeContract(config: ModelConfig): ShapeContract {
  validateModelConfig(config);
  const mode = parseContext(config.context);
  const specs = backboneUnits(config.model, config.inChannels, config.inputSize);
  const ranges = partitionUnits(config.model, BLOCKS_PER_STAGE[config.model], config.modules, config.partition);
  const mid = encoderWidth(config.widen);
  const modules: ModuleShape[] = [];
  ranges.forEach((range, m) => {
    const units = specs.slice(range[0], range[1]);
    const first = units[0]!;
    const last = units[units.length - 1]!;
    const input: Hwc = [first.inSize, first.inSize, first.inChannels];
    const output: Hwc = [last.outSize, last.outSize, last.outChannels];
    const c = first.inChannels;
    const usesImage = m > 0 && mode.image;
    const contextSources: number[] = [];
    // Sources before the network's start do not exist; in RnE the image reaches a cut through E only.
    // Bounded by m as well: a loop to n alone spun for ever on R99999999999999999999 (issue 11).
    for (let back = 1; m > 0 && back <= Math.min(mode.recent, m); back++) {
      const src = m - back;
      if (src < 0 || (src === 0 && mode.image)) continue;
      contextSources.push(src);
    }
    const isLast = m === ranges.length - 1;
    const hasDecoder = config.decoder && !isLast;
    let params = units.reduce((n, u) => n + unitParams(u), 0);
    if (usesImage) params += convParams(3, config.inChannels, mid, true) + bnParams(mid) + convParams(3, mid, c, true) + bnParams(c);
    for (const src of contextSources) params += convParams(1, modules[src]!.input[2], c, true) + bnParams(c);
    params += isLast ? linearParams(output[2], config.numClasses) : headParams(config, output[2]);
    const decoderBias = config.auxNets === 'release';
    if (hasDecoder) params += convParams(3, output[2], mid, decoderBias) + bnParams(mid) + convParams(3, mid, config.inChannels, decoderBias);
    modules.push({ index: m, unitRange: range, units, input, output, usesImage, contextSources, isLast, hasDecoder, paramCount: params });
  });
  return {
    config,
    mode,
    image: [config.inputSize, config.inputSize, config.inChannels],
    modules,
    historyLength: mode.recent,
    sendsImage: mode.image || config.decoder,
  };
}

/**
 * What a stage ending at module k sends on (engine/train/stage-runner.ts):
 * h_k, the image when the job sends it, and the combined inputs of the last
 * n modules for R<n>. Module 0's combined input is the normalised image, so
 * it travels as the uint8 image, exact and 4x smaller; it travels even in
 * RnE, where no encoder reads it. k = K-1 describes the last module's
 * output, which no stage sends.
 */
export function cutAfter(contract: ShapeContract, k: number, wire: WireDtype): CutCrossing {
  const mod = contract.modules[k];
  if (!mod) throw new Error(`module ${k} does not exist: the network has ${contract.modules.length} modules`);
  const n = contract.historyLength;
  const history: HistoryEntry[] = [];
  for (let j = Math.max(0, k - n + 1); n > 0 && j <= k; j++) {
    history.push(j === 0 ? { module: 0, shape: [...contract.image], dtype: 'uint8' } : { module: j, shape: [...contract.modules[j]!.input], dtype: wire });
  }
  const h: TensorSpec = { shape: [...mod.output], dtype: wire };
  const image: TensorSpec | null = contract.sendsImage ? { shape: [...contract.image], dtype: 'uint8' } : null;
  const bytes = (t: TensorSpec): number => size(t.shape) * BYTES_PER_ELEMENT[t.dtype];
  const bytesPerSample = bytes(h) + (image ? bytes(image) : 0) + history.reduce((s, e) => s + bytes(e), 0) + 1;
  return { after: k, h, image, history, bytesPerSample };
}

/** What enters module `first` from the stage before it: nothing but the raw image for module 0. */
export function cutBefore(contract: ShapeContract, first: number, wire: WireDtype): CutCrossing | null {
  return first === 0 ? null : cutAfter(contract, first - 1, wire);
}
