/**
 * Bytes on the wire per sample for each context mode and wire dtype:
 * ResNet-32, K = 4, CIFAR-shaped input. Counts every tensor a cut carries
 * (h, the uint8 image for E, the R history) from the shape contract the
 * planner uses, and checks it against one real msgpack-encoded stage:output.
 * Writes bench/results/wire-bytes.json.
 *
 *   npm run build && node dist/bench/wire-bytes.js
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { DEFAULT_MODEL_CONFIG } from '../engine/model/config.js';
import { cutAfter, shapeContract, type ShapeContract, type TensorSpec, type WireDtype } from '../engine/model/shape-contract.js';
import { encodeFrame } from '../protocol/tensor-frame.js';
import { parser } from '../protocol/parser.js';

const MODES = ['R0', 'E', 'R1', 'R1E'];
const WIRES: WireDtype[] = ['float32', 'float16', 'int8'];

/** Encoded size of a stage:output packet carrying batch `n` of the cut after module k (zeros as values). */
function encodedBytes(contract: ShapeContract, k: number, wire: WireDtype, n: number): number {
  const frame = (t: TensorSpec) => {
    const shape = [n, ...t.shape];
    const size = shape.reduce((a, b) => a * b, 1);
    return t.dtype === 'uint8' ? encodeFrame(new Uint8Array(size), shape, 'uint8') : encodeFrame(new Float32Array(size), shape, t.dtype);
  };
  const cut = cutAfter(contract, k, wire);
  const data = {
    jobId: 'bench', stage: 0, batchId: 0, epoch: 1, step: 0, phase: 'train',
    labels: encodeFrame(new Uint8Array(n), [n], 'uint8'),
    h: frame(cut.h),
    ...(cut.image ? { image: frame(cut.image) } : {}),
    ...(cut.history.length ? { history: cut.history.map(frame) } : {}),
  };
  const packets = new parser.Encoder().encode({ type: 2, nsp: '/', data: ['stage:output', data] });
  return packets.reduce((s, p) => s + p.byteLength, 0);
}

const rows: Array<{ context: string; wire: WireDtype; bytesPerSampleAllCuts: number; bytesPerSampleMiddleCut: number; encodedPerSampleMiddleCut: number }> = [];
for (const context of MODES) {
  const contract = shapeContract({ ...DEFAULT_MODEL_CONFIG, modules: 4, context });
  for (const wire of WIRES) {
    const cuts = [0, 1, 2].map((k) => cutAfter(contract, k, wire).bytesPerSample);
    rows.push({
      context,
      wire,
      bytesPerSampleAllCuts: cuts.reduce((a, b) => a + b, 0),
      bytesPerSampleMiddleCut: cuts[1],
      encodedPerSampleMiddleCut: encodedBytes(contract, 1, wire, 128) / 128,
    });
  }
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/wire-bytes.json', `${JSON.stringify({ date: new Date().toISOString(), model: 'resnet32', modules: 4, input: [32, 32, 3], rows }, null, 2)}\n`);
console.log('| context | wire | bytes/sample, all 3 cuts | bytes/sample, cut after module 1 | encoded stage:output per sample (batch 128) |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.context} | ${r.wire} | ${r.bytesPerSampleAllCuts} | ${r.bytesPerSampleMiddleCut} | ${r.encodedPerSampleMiddleCut.toFixed(1)} |`);
