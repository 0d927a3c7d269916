import { STAGE_WIDTHS, convOutSize } from './resnet.js';
import type { GllNetwork } from './network.js';

/** Bytes of one wire element per dtype (int8 frames add a 4-byte scale per tensor, ignored here). */
export const WIRE_BYTES = { float32: 4, float16: 2, int8: 1 } as const;
export type WireDtype = keyof typeof WIRE_BYTES;

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
export function moduleCosts(net: GllNetwork): ModuleCost[] {
  const cfg = net.config;
  const headWidth = (c: number): number => Math.round((c === 16 ? 32 : 64) * cfg.widen);
  const mid = Math.round(12 * cfg.widen);
  const params = new Array<number>(net.moduleCount).fill(0);
  for (const p of net.store.params) params[p.module] += p.variable.size;
  return Array.from({ length: net.moduleCount }, (_, k) => {
    let flops = 0;
    let acts = 0;
    for (const u of net.unitSpecs(k)) {
      const s = u.outSize;
      if (u.stage === 0) flops += conv(3, u.inChannels, u.outChannels, s);
      else {
        flops += conv(3, u.inChannels, u.outChannels, s) + conv(3, u.outChannels, u.outChannels, s);
        if (u.stride !== 1 || u.inChannels !== u.outChannels) flops += conv(1, u.inChannels, u.outChannels, s);
      }
      acts += (u.stage === 0 ? 3 : 7) * s * s * u.outChannels;
    }
    const [s, , c] = net.outputShape(k);
    const last = k === net.moduleCount - 1;
    if (last) flops += 2 * c * cfg.numClasses;
    else {
      const convs = Number(cfg.head[0]);
      const fcs = Number(cfg.head[2]);
      let size = s;
      let ch = c;
      for (let i = 0; i < convs; i++) {
        const stride = i === 0 && (c === STAGE_WIDTHS[0] || c === STAGE_WIDTHS[1]) ? 2 : 1;
        size = convOutSize(size, stride);
        flops += conv(3, ch, headWidth(c), size);
        acts += 3 * size * size * headWidth(c);
        ch = headWidth(c);
      }
      const out = cfg.loss === 'supcon' ? cfg.featureDim : cfg.numClasses;
      const fd = cfg.featureDim;
      flops += fcs === 1 ? 2 * ch * out : 2 * ch * fd + 2 * fd * fd * (fcs - 2) + 2 * fd * out;
      if (cfg.decoder) {
        const hw = cfg.inputSize;
        flops += conv(3, c, mid, hw) + conv(3, mid, cfg.inChannels, hw);
        // Bilinear upsampling runs as two matMuls (rows, then columns).
        if (s !== hw) flops += 2 * hw * s * s * c + 2 * hw * s * hw * c;
        acts += (c + 3 * mid + cfg.inChannels) * hw * hw;
      }
    }
    if (k > 0) {
      const [si, , ci] = net.inputShape(k);
      if (net.usesImage(k)) {
        const hw = cfg.inputSize;
        flops += conv(3, cfg.inChannels, mid, hw) + conv(3, mid, ci, hw);
        acts += 3 * (mid + ci) * hw * hw;
      }
      for (const src of net.contextSources(k)) {
        const [ss, , sc] = net.inputShape(src);
        flops += conv(1, sc, ci, ss);
        acts += 3 * ss * ss * ci;
      }
      acts += si * si * ci;
    }
    return { forwardFlops: flops, stateBytes: params[k] * 4 * 2, activationBytesPerSample: acts * 4 };
  });
}

/**
 * Bytes per sample that cross the cut after module k: h_k at the wire dtype,
 * the uint8 image when a later module needs it (E context or a decoder target),
 * and the recent module inputs the R context needs (the image entry as uint8).
 */
export function boundaryBytesPerSample(net: GllNetwork, k: number, wire: WireDtype): number {
  const cfg = net.config;
  const b = WIRE_BYTES[wire];
  const [h, w, c] = net.outputShape(k);
  const imageBytes = cfg.inputSize * cfg.inputSize * cfg.inChannels;
  let bytes = h * w * c * b + 1; // + the label
  if (net.mode.image || cfg.decoder) bytes += imageBytes;
  for (let j = Math.max(0, k - net.historyLength + 1); j <= k && net.historyLength > 0; j++) {
    if (j === 0) {
      if (!net.mode.image && !cfg.decoder) bytes += imageBytes;
    } else {
      const [ih, iw, ic] = net.inputShape(j);
      bytes += ih * iw * ic * b;
    }
  }
  return bytes;
}
