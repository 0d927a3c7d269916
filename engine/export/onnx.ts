import { BLOCKS_PER_STAGE, backboneUnits, type UnitSpec } from '../model/backbone.js';
import { parseContext, validateModelConfig, type ModelConfig } from '../model/config.js';
import { partitionUnits } from '../model/partition.js';
import { decodeFile, type ModelFile, type StoredTensor } from '../train/checkpoint-format.js';
import { ONNX_IR_VERSION, ONNX_OPSET, OnnxGraph } from './onnx-graph.js';

/**
 * ONNX export of a trained network, for inference anywhere onnxruntime runs.
 *
 * Pure: it reads the model file's numbers (engine/train/checkpoint-format.ts) and
 * rebuilds the inference graph of engine/model/network.ts from the model
 * config, without tfjs. The graph:
 *   image [N, C, H, W] float32, RGB (or grey) pixel / 255 in [0, 1]
 *   -> (x - mean) / std per channel (the data set's normalisation, as nodes)
 *   -> modules 0..K-1, each adding its context at the cut in front of it
 *      (E: encoder on the normalised image; Rn: encoders on the inputs of the
 *      n modules before, after their own context), exactly as
 *      GllNetwork.forward in inference mode
 *   -> the last module's classifier: logits [N, classes], and probabilities
 *      (softmax of the logits).
 * The local heads of modules 0..K-2 are training signals only; they are not
 * part of the exported network.
 *
 * NCHW because it is ONNX's own layout for Conv, pooling and
 * BatchNormalization: no transposes in the graph, and the layout every ONNX
 * image model and tool expects. BN is emitted as BatchNormalization with the
 * running statistics (inference mode) rather than folded into the conv, so
 * the exported numbers are the trained ones and runtimes fuse it themselves.
 * IR version 8, opset 17.
 */
export interface OnnxExportOptions {
  /** Per-channel mean of the training normalisation, in 0..1 units (PreprocessSpec.mean). */
  mean: readonly number[];
  /** Per-channel std of the training normalisation, in 0..1 units (PreprocessSpec.std). */
  std: readonly number[];
  /** Class names, index order; written to the model's metadata (`class_names`, JSON). */
  classNames?: readonly string[];
}

export const ONNX_INPUT = 'image';
export const ONNX_LOGITS = 'logits';
export const ONNX_PROBABILITIES = 'probabilities';

/** Serialised ONNX ModelProto of the network a model file holds. */
export function exportOnnx(modelFile: Uint8Array, options: OnnxExportOptions): Uint8Array {
  const file = decodeFile<ModelFile>(modelFile, 'contsup-model');
  const cfg = file.config;
  validateModelConfig(cfg);
  checkOptions(cfg, options);
  const b = new NetworkBuilder(file);
  const image = b.g.input(ONNX_INPUT, ['batch', cfg.inChannels, cfg.inputSize, cfg.inputSize]);
  const shape = [1, cfg.inChannels, 1, 1];
  const mean = b.g.initializer('normalise/mean', shape, Float32Array.from(options.mean));
  const std = b.g.initializer('normalise/std', shape, Float32Array.from(options.std));
  const normalised = b.g.node('Div', [b.g.node('Sub', [image, mean], 'normalise/centred'), std], 'normalise/out');
  const logits = b.network(normalised);
  b.g.node('Softmax', [logits], ONNX_PROBABILITIES, { axis: 1 });
  b.g.output(logits, ['batch', cfg.numClasses]);
  b.g.output(ONNX_PROBABILITIES, ['batch', cfg.numClasses]);
  const metadata: Record<string, string> = {
    'contsup.config': JSON.stringify(cfg),
    input_layout: 'NCHW',
    input_range: 'float32 pixel / 255 in [0, 1]; normalisation is inside the graph',
    mean: JSON.stringify(options.mean),
    std: JSON.stringify(options.std),
  };
  if (options.classNames) metadata.class_names = JSON.stringify(options.classNames);
  const doc = `contsup ${cfg.model} K=${cfg.modules} ${cfg.context}: input ${ONNX_INPUT} [N,${cfg.inChannels},${cfg.inputSize},${cfg.inputSize}] float32 in [0,1], outputs ${ONNX_LOGITS} and ${ONNX_PROBABILITIES} [N,${cfg.numClasses}]; IR ${ONNX_IR_VERSION}, opset ${ONNX_OPSET}`;
  return b.g.encode(`contsup-${cfg.model}-k${cfg.modules}-${cfg.context}`, doc, metadata);
}

function checkOptions(cfg: ModelConfig, o: OnnxExportOptions): void {
  if (o.mean.length !== cfg.inChannels || o.std.length !== cfg.inChannels) {
    throw new Error(`ONNX export: ${o.mean.length} means and ${o.std.length} stds given for a ${cfg.inChannels}-channel model; give one per channel`);
  }
  if (![...o.mean, ...o.std].every(Number.isFinite) || o.std.some((s) => s <= 0)) {
    throw new Error(`ONNX export: mean ${JSON.stringify(o.mean)} / std ${JSON.stringify(o.std)} must be finite numbers with std > 0`);
  }
  if (o.classNames && o.classNames.length !== cfg.numClasses) {
    throw new Error(`ONNX export: ${o.classNames.length} class names given for a ${cfg.numClasses}-class model`);
  }
}

/** One module's shape, as GllNetwork builds it. */
interface ModuleLayout {
  units: UnitSpec[];
  /** The cut's R sources: how many modules back (1 = the module before). */
  recent: number[];
  image: boolean;
}

function layoutOf(cfg: ModelConfig): ModuleLayout[] {
  const mode = parseContext(cfg.context);
  const specs = backboneUnits(cfg.model, cfg.inChannels, cfg.inputSize);
  const ranges = partitionUnits(cfg.model, BLOCKS_PER_STAGE[cfg.model], cfg.modules, cfg.partition);
  return ranges.map(([start, end], m) => {
    const recent: number[] = [];
    for (let back = 1; m > 0 && back <= mode.recent; back++) {
      const src = m - back;
      // As GllNetwork: no source before the start; in RnE the image reaches a cut through E only.
      if (src < 0 || (src === 0 && mode.image)) continue;
      recent.push(back);
    }
    return { units: specs.slice(start, end), recent, image: m > 0 && mode.image };
  });
}

class NetworkBuilder {
  readonly g = new OnnxGraph();
  private readonly cfg: ModelConfig;

  constructor(private readonly file: ModelFile) {
    this.cfg = file.config;
  }

  /** The trained network on the normalised image; returns the logits' name. */
  network(normalised: string): string {
    const layout = layoutOf(this.cfg);
    // combined[m]: module m's input after its context: what R sources of later cuts read.
    const combined: string[] = [];
    let h = normalised;
    layout.forEach((mod, m) => {
      const terms: string[] = [];
      const { inChannels: c, inSize: s } = mod.units[0];
      if (mod.image) terms.push(this.imageEncoder(`m${m}/ctx/e`, normalised, c, s));
      for (const back of mod.recent) {
        const src = layout[m - back].units[0];
        terms.push(this.featureEncoder(`m${m}/ctx/r${back}`, combined[m - back], src.inChannels, src.inSize, c, s));
      }
      let input = h;
      if (terms.length > 0) {
        const context = terms.slice(1).reduce((sum, t) => this.g.node('Add', [sum, t], `m${m}/ctx/sum`), terms[0]);
        input = this.g.node('Add', [h, context], `m${m}/combined`);
      }
      combined.push(input);
      h = input;
      for (const unit of mod.units) h = unit.stage === 0 ? this.stem(h, unit) : this.block(h, unit);
    });
    const pooled = this.g.node('Flatten', [this.g.node('GlobalAveragePool', [h], 'fc/pool')], 'fc/flat', { axis: 1 });
    const last = layout[layout.length - 1].units;
    const channels = last[last.length - 1].outChannels;
    const w = this.param('fc/w', [channels, this.cfg.numClasses]);
    const bias = this.param('fc/b', [this.cfg.numClasses]);
    return this.g.node('Gemm', [pooled, w, bias], ONNX_LOGITS);
  }

  private stem(x: string, u: UnitSpec): string {
    return this.relu(this.bn('stem/bn', this.conv('stem/conv', x, 3, u.inChannels, u.outChannels, 1, false), u.outChannels));
  }

  private block(x: string, u: UnitSpec): string {
    const p = `s${u.stage}b${u.block}`;
    const { inChannels: cin, outChannels: cout, stride } = u;
    const y = this.relu(this.bn(`${p}/bn1`, this.conv(`${p}/conv1`, x, 3, cin, cout, stride, false), cout));
    const z = this.bn(`${p}/bn2`, this.conv(`${p}/conv2`, y, 3, cout, cout, 1, false), cout);
    const shortcut = stride !== 1 || cin !== cout ? this.bn(`${p}/projbn`, this.conv(`${p}/proj`, x, 1, cin, cout, stride, false), cout) : x;
    return this.relu(this.g.node('Add', [z, shortcut], `${p}/add`));
  }

  /** Encoder E (engine/model/context.ts): conv3x3-BN-ReLU twice, then adaptive pool. */
  private imageEncoder(name: string, image: string, channels: number, size: number): string {
    const mid = Math.round(12 * this.cfg.widen);
    const y = this.relu(this.bn(`${name}/bn1`, this.conv(`${name}/conv1`, image, 3, this.cfg.inChannels, mid, 1, true), mid));
    const z = this.relu(this.bn(`${name}/bn2`, this.conv(`${name}/conv2`, y, 3, mid, channels, 1, true), channels));
    return this.adaptivePool(name, z, this.cfg.inputSize, size);
  }

  /** Encoder R: conv1x1-BN-ReLU, then adaptive pool. */
  private featureEncoder(name: string, source: string, cin: number, inSize: number, channels: number, size: number): string {
    const y = this.relu(this.bn(`${name}/bn`, this.conv(`${name}/conv`, source, 1, cin, channels, 1, true), channels));
    return this.adaptivePool(name, y, inSize, size);
  }

  /** Conv with symmetric padding (k-1)/2, as layers.ts; weights HWIO -> OIHW. */
  private conv(name: string, x: string, k: number, cin: number, cout: number, stride: number, withBias: boolean): string {
    const hwio = this.values(`${name}/w`, [k, k, cin, cout]);
    const oihw = new Float32Array(hwio.length);
    for (let y = 0; y < k; y++) {
      for (let xk = 0; xk < k; xk++) {
        for (let i = 0; i < cin; i++) {
          for (let o = 0; o < cout; o++) oihw[((o * cin + i) * k + y) * k + xk] = hwio[((y * k + xk) * cin + i) * cout + o];
        }
      }
    }
    const inputs = [x, this.g.initializer(`${name}/w`, [cout, cin, k, k], oihw)];
    if (withBias) inputs.push(this.param(`${name}/b`, [cout]));
    const p = (k - 1) / 2;
    return this.g.node('Conv', inputs, name, { kernel_shape: [k, k], strides: [stride, stride], pads: [p, p, p, p] });
  }

  /** Inference-mode BN with the running statistics; eps as layers.ts. */
  private bn(name: string, x: string, channels: number): string {
    const inputs = ['gamma', 'beta', 'mean', 'var'].map((part) => this.param(`${name}/${part}`, [channels]));
    return this.g.node('BatchNormalization', [x, ...inputs], name, { epsilon: { float: 1e-5 } });
  }

  private relu(x: string): string {
    return this.g.node('Relu', [x], `${x}/relu`);
  }

  /** As layers.ts adaptiveAvgPool: identity, a plain average pool when sizes divide, else two averaging matrices. */
  private adaptivePool(name: string, x: string, n: number, s: number): string {
    if (n === s) return x;
    if (n % s === 0) return this.g.node('AveragePool', [x], `${name}/pool`, { kernel_shape: [n / s, n / s], strides: [n / s, n / s] });
    const m = adaptivePoolMatrix(n, s);
    const rows = this.g.node('MatMul', [this.g.initializer(`${name}/pool/rows`, [s, n], m), x], `${name}/pool/h`);
    return this.g.node('MatMul', [rows, this.g.initializer(`${name}/pool/cols`, [n, s], transpose(m, s, n))], `${name}/pool`);
  }

  private param(name: string, dims: number[]): string {
    return this.g.initializer(name, dims, this.values(name, dims));
  }

  private values(name: string, dims: number[]): Float32Array {
    return storedValues(this.file.params[name], name, dims);
  }
}

/**
 * The float32 values of one stored tensor, checked against the shape the
 * network has. Copies: msgpack may hand back bytes at an offset a
 * Float32Array cannot view.
 */
function storedValues(s: StoredTensor | undefined, name: string, expect: readonly number[]): Float32Array {
  if (!s) throw new Error(`model file has no tensor ${name}`);
  const shapeOk = Array.isArray(s.shape) && s.shape.length === expect.length && s.shape.every((d, i) => d === expect[i]);
  if (!shapeOk) throw new Error(`model file tensor ${name} has shape [${String(s.shape)}], the model config says [${expect.join(',')}]: the file is corrupt or for another configuration`);
  const n = expect.reduce((a, b) => a * b, 1);
  if (!(s.bytes instanceof Uint8Array) || s.bytes.byteLength !== n * 4) throw new Error(`model file tensor ${name} holds ${String(s.bytes?.byteLength)} bytes, expected ${n * 4} (float32 [${expect.join(',')}]): the file is truncated or corrupt`);
  const values = new Float32Array(n);
  new Uint8Array(values.buffer).set(s.bytes);
  return values;
}

/** Row i averages input cells [floor(i*n/s), ceil((i+1)*n/s)), as torch's adaptive_avg_pool2d (and layers.ts). */
function adaptivePoolMatrix(n: number, s: number): Float32Array {
  const m = new Float32Array(s * n);
  for (let i = 0; i < s; i++) {
    const start = Math.floor((i * n) / s);
    const end = Math.ceil(((i + 1) * n) / s);
    for (let j = start; j < end; j++) m[i * n + j] = 1 / (end - start);
  }
  return m;
}

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}
