import onnxProto from 'onnx-proto';

/**
 * A small builder over the official ONNX schema (onnx-proto: the generated
 * protobufjs code of onnx.proto3, ONNX 1.10, IR version 8). It only knows
 * nodes, float32 initializers and graph inputs/outputs: what an inference
 * graph of convolutions needs.
 */
const { onnx } = onnxProto;

/** IR version 8 is what onnx-proto's schema (ONNX 1.10.2) writes and every onnxruntime since 1.10 reads. */
export const ONNX_IR_VERSION = 8;
/** Opset 17 (ONNX 1.12): BatchNormalization-15, Softmax-13, the rest unchanged since long before. */
export const ONNX_OPSET = 17;

export type AttrValue = number | number[] | { float: number };

type Dim = number | string;

/** Graph under construction. Names are unique; `node` returns its output name. */
export class OnnxGraph {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly names = new Set<string>();

  /** A float32 constant (weights, BN statistics, normalisation) stored as raw little-endian bytes. */
  initializer(name: string, dims: readonly number[], values: Float32Array): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (values.length !== count) throw new Error(`ONNX initializer ${name}: ${values.length} values for shape [${dims.join(',')}]`);
    this.claim(name);
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    this.initializers.push({ name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: littleEndian(bytes) });
    return name;
  }

  /** Adds one node; its single output is named `output` (made unique if taken). */
  node(opType: string, inputs: string[], output: string, attrs: Record<string, AttrValue> = {}): string {
    const out = this.unique(output);
    const attribute = Object.entries(attrs).map(([name, v]) => attributeOf(name, v));
    this.nodes.push({ opType, input: inputs, output: [out], name: out, attribute });
    return out;
  }

  input(name: string, dims: Dim[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  /** Declares `name` (a node output) a graph output. */
  output(name: string, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, dims));
  }

  /** Serialised ModelProto. */
  encode(graphName: string, docString: string, metadata: Record<string, string>): Uint8Array {
    const model: onnxProto.onnx.IModelProto = {
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'contsup',
      docString,
      graph: { name: graphName, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX graph: the name ${name} is used twice`);
    this.names.add(name);
  }

  private unique(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }
}

function attributeOf(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`ONNX attribute ${name}: ${v} is not an integer; pass { float: ${v} } for a float`);
    return { name, type: T.INT, i: v };
  }
  return { name, type: T.FLOAT, f: v.float };
}

function valueInfo(name: string, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } } };
}

/** ONNX raw_data is little-endian; so are the machines contsup runs on, but say so rather than assume. */
function littleEndian(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return copy;
  for (let i = 0; i < copy.length; i += 4) copy.subarray(i, i + 4).reverse();
  return copy;
}
