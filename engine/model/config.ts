import { JOB_DEFAULTS } from '../../protocol/defaults.js';
import type { AuxNetsStyle } from '../../protocol/job-recipe.js';
import { HEAD_NAMES, LOSS_NAMES, parseContext, type HeadName, type LossName, type ModelName, type PartitionKind } from '../../protocol/names.js';
import { BLOCKS_PER_STAGE } from './backbone.js';

// The names live in protocol/ (one vocabulary for wire, CLI and engine); re-exported for the model code.
export { parseContext, type ContextMode } from '../../protocol/names.js';

export interface ModelConfig {
  model: ModelName;
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
  /**
   * How the auxiliary nets are built (docs/fidelity.md, differences 9 and 10).
   * `contsup` (default): decoder convs without bias, bilinear upsampling with
   * align_corners=False, heads' hidden linear width `featureDim`. `release`:
   * as the authors' auxiliary_nets.py: both decoder convs with bias,
   * align_corners=True, hidden width `featureDim * widen`.
   */
  auxNets?: AuxNetsStyle;
}

export type { AuxNetsStyle };

/** Width of the local heads' hidden linear layers (the release widens it with aux_net_widen). */
export function headHiddenWidth(cfg: Pick<ModelConfig, 'featureDim' | 'widen' | 'auxNets'>): number {
  return cfg.auxNets === 'release' ? Math.trunc(cfg.featureDim * cfg.widen) : cfg.featureDim;
}

/** A job's defaults for what it names; CIFAR-10's images and the paper's widths for the rest. */
export const DEFAULT_MODEL_CONFIG: ModelConfig = {
  model: JOB_DEFAULTS.model,
  modules: JOB_DEFAULTS.modules,
  context: JOB_DEFAULTS.context,
  loss: JOB_DEFAULTS.loss,
  head: JOB_DEFAULTS.head,
  decoder: JOB_DEFAULTS.decoder,
  inputSize: 32,
  inChannels: 3,
  numClasses: 10,
  partition: JOB_DEFAULTS.partition,
  seed: JOB_DEFAULTS.seed,
  widen: 1,
  featureDim: 128,
};

/** Checks a config and names the bad field and the allowed values. */
export function validateModelConfig(cfg: ModelConfig): void {
  if (!(cfg.model in BLOCKS_PER_STAGE)) throw new Error(`model "${cfg.model}" is not one of ${Object.keys(BLOCKS_PER_STAGE).join(', ')}`);
  if (!(HEAD_NAMES as readonly string[]).includes(cfg.head)) throw new Error(`head "${cfg.head}" is not one of ${HEAD_NAMES.join(', ')}`);
  if (!(LOSS_NAMES as readonly string[]).includes(cfg.loss)) throw new Error(`loss "${String(cfg.loss)}" is not one of ${LOSS_NAMES.join(', ')}`);
  parseContext(cfg.context);
  if (!Number.isInteger(cfg.inputSize) || cfg.inputSize < 4) throw new Error(`input size must be an integer >= 4, got ${cfg.inputSize}`);
  if (!Number.isInteger(cfg.inChannels) || cfg.inChannels < 1) throw new Error(`input channels must be a positive integer, got ${cfg.inChannels}`);
  if (!Number.isInteger(cfg.numClasses) || cfg.numClasses < 2) throw new Error(`class count must be an integer >= 2, got ${cfg.numClasses}`);
  if (cfg.bnMomentum !== undefined && !(cfg.bnMomentum > 0 && cfg.bnMomentum <= 1)) throw new Error(`BN momentum must be in (0, 1], got ${cfg.bnMomentum}`);
  if (cfg.bnEps !== undefined && !(cfg.bnEps > 0 && cfg.bnEps < 1)) throw new Error(`BN eps must be in (0, 1), got ${cfg.bnEps}`);
  if (cfg.auxNets !== undefined && cfg.auxNets !== 'contsup' && cfg.auxNets !== 'release') throw new Error(`auxNets must be contsup or release, got ${String(cfg.auxNets)}`);
}
