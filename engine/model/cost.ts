import { STAGE_WIDTHS, convOutSize } from './backbone.js';
import { headHiddenWidth } from './config.js';
import { encoderWidth, headWidth, type ShapeContract } from './shape-contract.js';

export interface ModuleCost {
  /** Forward FLOPs per sample (2 x multiply-adds of convs and linears), heads/encoders/decoder included. */
  forwardFlops: number;
  /** Trained parameters and BN state, plus momentum buffers: bytes held between steps. */
  stateBytes: number;
  /** Rough activation bytes a training step keeps per sample (saved forward tensors). */
  activationBytesPerSample: number;
}

const conv = (k: number, cin: number, cout: number, outSize: number): number => 2 * k * k * cin * cout * outSize * outSize;

/**
 * Analytic per-module cost, for the planner: no tensors are run. Activation
 * bytes count each conv/BN/ReLU output about three times (value, BN-normalised
 * copy, ReLU mask), an estimate within a small factor of the measured peak.
 */
export function moduleCosts(contract: ShapeContract): ModuleCost[] {
  const cfg = contract.config;
  const width = (c: number): number => headWidth(c, cfg.widen);
  const mid = encoderWidth(cfg.widen);
  return contract.modules.map((mod, k) => {
    let flops = 0;
    let acts = 0;
    for (const u of mod.units) {
      const s = u.outSize;
      if (u.stage === 0) flops += conv(3, u.inChannels, u.outChannels, s);
      else {
        flops += conv(3, u.inChannels, u.outChannels, s) + conv(3, u.outChannels, u.outChannels, s);
        if (u.stride !== 1 || u.inChannels !== u.outChannels) flops += conv(1, u.inChannels, u.outChannels, s);
      }
      acts += (u.stage === 0 ? 3 : 7) * s * s * u.outChannels;
    }
    const [s, , c] = mod.output;
    if (mod.isLast) flops += 2 * c * cfg.numClasses;
    else {
      const convs = Number(cfg.head[0]);
      const fcs = Number(cfg.head[2]);
      let size = s;
      let ch = c;
      for (let i = 0; i < convs; i++) {
        const stride = i === 0 && (c === STAGE_WIDTHS[0] || c === STAGE_WIDTHS[1]) ? 2 : 1;
        size = convOutSize(size, stride);
        flops += conv(3, ch, width(c), size);
        acts += 3 * size * size * width(c);
        ch = width(c);
      }
      const out = cfg.loss === 'supcon' ? cfg.featureDim : cfg.numClasses;
      const fd = headHiddenWidth(cfg);
      flops += fcs === 1 ? 2 * ch * out : 2 * ch * fd + 2 * fd * fd * (fcs - 2) + 2 * fd * out;
      if (mod.hasDecoder) {
        const hw = cfg.inputSize;
        flops += conv(3, c, mid, hw) + conv(3, mid, cfg.inChannels, hw);
        // Bilinear upsampling runs as two matMuls (rows, then columns).
        if (s !== hw) flops += 2 * hw * s * s * c + 2 * hw * s * hw * c;
        acts += (c + 3 * mid + cfg.inChannels) * hw * hw;
      }
    }
    if (k > 0) {
      const [si, , ci] = mod.input;
      if (mod.usesImage) {
        const hw = cfg.inputSize;
        flops += conv(3, cfg.inChannels, mid, hw) + conv(3, mid, ci, hw);
        acts += 3 * (mid + ci) * hw * hw;
      }
      for (const src of mod.contextSources) {
        const [ss, , sc] = contract.modules[src]!.input;
        flops += conv(1, sc, ci, ss);
        acts += 3 * ss * ss * ci;
      }
      acts += si * si * ci;
    }
    return { forwardFlops: flops, stateBytes: mod.paramCount * 4 * 2, activationBytesPerSample: acts * 4 };
  });
}

/**
 * Bytes a device needs to hold modules first..last at batch size `batchSize`:
 * every module's state, plus the activations of the largest one, since the
 * modules of a stage train one after another. The planner and the
 * coordinator's re-assignment both use it.
 */
export function stageMemoryBytes(costs: readonly ModuleCost[], first: number, last: number, batchSize: number): number {
  let state = 0;
  let act = 0;
  for (let k = first; k <= last; k++) {
    state += costs[k]!.stateBytes;
    act = Math.max(act, costs[k]!.activationBytesPerSample);
  }
  return state + act * batchSize;
}
