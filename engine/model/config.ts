import type { PartitionKind } from './partition.js';
import { BLOCKS_PER_STAGE, type ResNetName } from './resnet.js';

export type HeadName = '0c1f' | '0c2f' | '1c1f' | '1c2f' | '1c3f' | '2c2f';
export const HEAD_NAMES: readonly HeadName[] = ['0c1f', '0c2f', '1c1f', '1c2f', '1c3f', '2c2f'];
export type LossName = 'ce' | 'supcon';

export interface ModelConfig {
  model: ResNetName;
  /** K: number of gradient-isolated modules (1 = end-to-end). */
  modules: number;
  /** Context mode: R0, E, R<n>, R<n>E. */
  context: string;
  loss: LossName;
  head: HeadName;
  decoder: boolean;
  inputSize: number;
  inChannels: number;
  numClasses: number;
  partition: PartitionKind;
  seed: number;
  /** aux_net_widen: widens heads, encoders and decoder (12 and the head widths at 1). */
  widen: number;
  featureDim: number;
  /** BN running-average momentum (PyTorch convention, default 0.1). */
  bnMomentum?: number;
  /** BN epsilon (default 1e-5). */
  bnEps?: number;
}

export const DEFAULT_MODEL_CONFIG: ModelConfig = {
  model: 'resnet32',
  modules: 4,
  context: 'E',
  loss: 'ce',
  head: '1c2f',
  decoder: false,
  inputSize: 32,
  inChannels: 3,
  numClasses: 10,
  partition: 'equal',
  seed: 1,
  widen: 1,
  featureDim: 128,
};

export interface ContextMode {
  /** E: the input image is a context source at every cut. */
  image: boolean;
  /** Rn: the n most recent module inputs are sources. */
  recent: number;
}

export function parseContext(mode: string): ContextMode {
  const m = /^(?:(R0)|(E)|R([1-9]\d*)(E?))$/.exec(mode);
  if (!m) throw new Error(`unknown context mode "${mode}": use R0, E, R<n> or R<n>E (e.g. R1, R2, R1E)`);
  if (m[1]) return { image: false, recent: 0 };
  if (m[2]) return { image: true, recent: 0 };
  return { image: m[4] === 'E', recent: Number(m[3]) };
}

/** Checks a config and names the bad field and the allowed values. */
export function validateModelConfig(cfg: ModelConfig): void {
  if (!(cfg.model in BLOCKS_PER_STAGE)) throw new Error(`model "${cfg.model}" is not one of ${Object.keys(BLOCKS_PER_STAGE).join(', ')}`);
  if (!HEAD_NAMES.includes(cfg.head)) throw new Error(`head "${cfg.head}" is not one of ${HEAD_NAMES.join(', ')}`);
  if (cfg.loss !== 'ce' && cfg.loss !== 'supcon') throw new Error(`loss "${cfg.loss}" is not one of ce, supcon`);
  parseContext(cfg.context);
  if (!Number.isInteger(cfg.inputSize) || cfg.inputSize < 4) throw new Error(`input size must be an integer >= 4, got ${cfg.inputSize}`);
  if (!Number.isInteger(cfg.inChannels) || cfg.inChannels < 1) throw new Error(`input channels must be a positive integer, got ${cfg.inChannels}`);
  if (!Number.isInteger(cfg.numClasses) || cfg.numClasses < 2) throw new Error(`class count must be an integer >= 2, got ${cfg.numClasses}`);
  if (cfg.bnMomentum !== undefined && !(cfg.bnMomentum > 0 && cfg.bnMomentum <= 1)) throw new Error(`BN momentum must be in (0, 1], got ${cfg.bnMomentum}`);
  if (cfg.bnEps !== undefined && !(cfg.bnEps > 0 && cfg.bnEps < 1)) throw new Error(`BN eps must be in (0, 1), got ${cfg.bnEps}`);
}
