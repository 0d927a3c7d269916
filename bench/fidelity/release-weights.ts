/**
 * Maps contsup's parameters onto the authors' release (Tab-ct/ContSup) state
 * dict, so both sides start from the same weights: contsup draws them from its
 * seed, and the runner copies them into the release's model.
 *
 * Layouts: contsup convs are [k, k, in, out] (tfjs), PyTorch's [out, in, k, k];
 * contsup linears are [in, out], PyTorch's [out, in].
 */
import { writeFileSync } from 'node:fs';
import type { GllNetwork } from '../../engine/model/network.js';

const BN_FIELD: Record<string, string> = { gamma: 'weight', beta: 'bias', mean: 'running_mean', var: 'running_var' };

function field(last: string): string {
  if (last in BN_FIELD) return BN_FIELD[last];
  if (last === 'w') return 'weight';
  if (last === 'b') return 'bias';
  throw new Error(`no release field for parameter part "${last}"`);
}

/** Where module m's cut is in the release's naming: the [stage, block] of its last unit. */
function cutOf(net: GllNetwork, m: number): string {
  const specs = net.unitSpecs(m);
  const s = specs[specs.length - 1];
  return `${s.stage}_${s.block}`;
}

/** The release's state-dict key for a contsup parameter name, or null where the release has no such parameter. */
export function releaseName(net: GllNetwork, name: string): string | null {
  const parts = name.split('/');
  const last = parts[parts.length - 1];
  const f = field(last);
  if (parts[0] === 'stem') return parts[1] === 'conv' ? 'conv1.weight' : `bn1.${f}`;
  if (parts[0] === 'fc') return `fc.${f}`;
  const block = /^s(\d)b(\d+)$/.exec(parts[0]);
  if (block) {
    const base = `layer${block[1]}.${block[2]}`;
    const sub: Record<string, string> = { conv1: 'conv1', bn1: 'bn1', conv2: 'conv2', bn2: 'bn2', proj: 'downsample.0', projbn: 'downsample.1' };
    return `${base}.${sub[parts[1]]}.${f}`;
  }
  const mod = /^m(\d+)$/.exec(parts[0]);
  if (!mod) throw new Error(`unmapped parameter ${name}`);
  const m = Number(mod[1]);
  if (parts[1] === 'head') {
    const convs = Number(net.config.head[0]);
    const layer = /^(conv|bn|fc)(\d+)$/.exec(parts[2])!;
    const i = Number(layer[2]);
    // nn.Sequential indices: (conv, bn, relu) per conv, then pool, flatten, then (linear, relu) per linear.
    const idx = layer[1] === 'conv' ? 3 * i : layer[1] === 'bn' ? 3 * i + 1 : 3 * convs + 2 + 2 * i;
    return `aux_classifier_${cutOf(net, m)}.head.${idx}.${f}`;
  }
  if (parts[1] === 'ctx') {
    const node = m - 1;
    if (parts[2] === 'e') {
      const idx: Record<string, number> = { conv1: 0, bn1: 1, conv2: 3, bn2: 4 };
      return `cont_sup_node.encoder_${node}.encoder.${idx[parts[3]]}.${f}`;
    }
    const back = Number(parts[2].slice(1));
    return `cont_sup_node.resencoder_${node}_${back - 1}.encoder.${parts[3] === 'conv' ? 0 : 1}.${f}`;
  }
  if (parts[1] === 'dec') {
    // The release's decoder convs also have biases, which contsup's lack (docs/fidelity.md).
    const idx: Record<string, number> = { conv1: 0, bn: 1, conv2: 3 };
    return `decoder_${cutOf(net, m)}.decoder.${idx[parts[2]]}.${f}`;
  }
  return null;
}

/** Values of a contsup variable in PyTorch's layout. */
function toTorchLayout(shape: number[], data: Float32Array): { shape: number[]; data: Float32Array } {
  if (shape.length === 4) {
    const [kh, kw, cin, cout] = shape;
    const out = new Float32Array(data.length);
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) {
      out[((o * cin + i) * kh + y) * kw + x] = data[((y * kw + x) * cin + i) * cout + o];
    }
    return { shape: [cout, cin, kh, kw], data: out };
  }
  if (shape.length === 2) {
    const [cin, cout] = shape;
    const out = new Float32Array(data.length);
    for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) out[o * cin + i] = data[i * cout + o];
    return { shape: [cout, cin], data: out };
  }
  return { shape, data };
}

export interface TensorIndexEntry {
  shape: number[];
  dtype: 'float32' | 'uint8' | 'int64';
  offset: number;
}

/** Writes named arrays as `<prefix>.bin` + `<prefix>.json` (name -> shape, dtype, byte offset): the runner's input format. */
export function writeTensors(prefix: string, tensors: Array<{ name: string; shape: number[]; data: Float32Array | Uint8Array }>): void {
  const index: Record<string, TensorIndexEntry> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const t of tensors) {
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const pad = (4 - (offset % 4)) % 4;
    if (pad) chunks.push(Buffer.alloc(pad));
    offset += pad;
    index[t.name] = { shape: t.shape, dtype: t.data instanceof Float32Array ? 'float32' : 'uint8', offset };
    chunks.push(bytes);
    offset += bytes.length;
  }
  writeFileSync(`${prefix}.bin`, Buffer.concat(chunks));
  writeFileSync(`${prefix}.json`, JSON.stringify(index));
}

/** Writes the network's current weights and BN state under the release's names. */
export function exportReleaseWeights(net: GllNetwork, prefix: string): number {
  const tensors: Array<{ name: string; shape: number[]; data: Float32Array }> = [];
  for (const p of net.store.params) {
    const name = releaseName(net, p.name);
    if (!name) continue;
    const t = toTorchLayout(p.variable.shape, p.variable.dataSync() as Float32Array);
    tensors.push({ name, ...t });
  }
  writeTensors(prefix, tensors);
  return tensors.length;
}
