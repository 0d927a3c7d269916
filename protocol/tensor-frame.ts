import { ProtocolError } from './errors.js';
import { float16ArrayToFloat32, float32ArrayToFloat16 } from './float16.js';

/** Element types a tensor frame can carry on the wire. */
export const TENSOR_DTYPES = ['float32', 'float16', 'int8', 'uint8', 'int32'] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];

export const BYTES_PER_ELEMENT: Readonly<Record<TensorDtype, number>> = {
  float32: 4,
  float16: 2,
  int8: 1,
  uint8: 1,
  int32: 4,
};

/** Ranks above this are refused: nothing in a ResNet pipeline needs them, and it bounds the work a hostile shape can cause. */
export const MAX_TENSOR_RANK = 8;

/**
 * One tensor on the wire: row-major (C order) elements, little-endian, in
 * `bytes`, which travels as a msgpack bin. int8 frames carry `scale`
 * (value = int8 * scale, symmetric quantisation); no other dtype may.
 */
export interface TensorFrame<D extends TensorDtype = TensorDtype> {
  dtype: D;
  shape: number[];
  bytes: Uint8Array;
  scale?: number;
}

/** What `decodeFrame` hands back for each dtype. */
export type DecodedTensor<D extends TensorDtype = TensorDtype> = D extends 'uint8'
  ? Uint8Array
  : D extends 'int32'
    ? Int32Array
    : Float32Array;

/** Expectations a receiver has of a frame; `null` in `shape` matches any size (e.g. the batch dimension). */
export interface FrameExpectation {
  dtype?: TensorDtype | readonly TensorDtype[];
  shape?: readonly (number | null)[];
  /** Who expects it, for the message: "stage 2" gives "..., stage 2 expects [..]". */
  by?: string;
}

// Typed-array views below reinterpret memory in host byte order; the wire is
// little-endian, so a big-endian host would silently swap every element.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new ProtocolError('bad-tensor', 'tensor frames are little-endian and this host is big-endian; byte-swapping is not implemented');
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function frameByteLength(dtype: TensorDtype, shape: readonly number[]): number {
  return shapeSize(shape) * BYTES_PER_ELEMENT[dtype];
}

export function formatShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? '*' : String(d))).join(',')}]`;
}

function isDtype(value: unknown): value is TensorDtype {
  return typeof value === 'string' && (TENSOR_DTYPES as readonly string[]).includes(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  return typeof value;
}

const FRAME_KEYS = new Set(['dtype', 'shape', 'bytes', 'scale']);

type FrameFields = { dtype: TensorDtype; shape: number[]; bytes: Uint8Array; scale?: unknown };

/** First structural problem (fields, dtype, shape, bytes type) of `frame`, or undefined. */
export function frameStructureProblem(frame: unknown): string | undefined {
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    return `is not a tensor frame {dtype, shape, bytes[, scale]} (got ${kindOf(frame)})`;
  }
  const f = frame as Record<string, unknown>;
  const extra = Object.keys(f).filter((k) => !FRAME_KEYS.has(k));
  if (extra.length > 0) return `has unknown field(s) ${extra.join(', ')}; a frame has only dtype, shape, bytes, scale`;
  if (!isDtype(f['dtype'])) return `has dtype ${JSON.stringify(f['dtype']) ?? 'undefined'}; allowed: ${TENSOR_DTYPES.join(', ')}`;
  const shape = f['shape'];
  if (!Array.isArray(shape)) return `has no shape array (got ${kindOf(shape)})`;
  if (shape.length > MAX_TENSOR_RANK) return `has rank ${shape.length}; at most ${MAX_TENSOR_RANK} dimensions are allowed`;
  if (!shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    return `has shape [${shape.map((d) => JSON.stringify(d) ?? 'undefined').join(',')}]: every dimension must be a non-negative integer`;
  }
  const bytes = f['bytes'];
  if (!(bytes instanceof Uint8Array)) return `has bytes of type ${kindOf(bytes)}; send them as a Uint8Array (msgpack bin)`;
  if (f['scale'] !== undefined && typeof f['scale'] !== 'number') return `has a scale of type ${kindOf(f['scale'])}; it must be a number`;
  return undefined;
}

/** Byte-length and scale problem of a structurally sound frame, or undefined. */
export function frameContentProblem(frame: FrameFields): string | undefined {
  const { dtype, shape, bytes, scale } = frame;
  const need = frameByteLength(dtype, shape);
  if (bytes.byteLength !== need) {
    const bpe = BYTES_PER_ELEMENT[dtype];
    return (
      `carries ${bytes.byteLength} bytes, but ${dtype} x ${formatShape(shape)} needs ${need} ` +
      `(${shapeSize(shape)} elements x ${bpe} bytes); send exactly product(shape) x ${bpe} bytes`
    );
  }
  if (dtype === 'int8') {
    if (typeof scale !== 'number' || !Number.isFinite(scale) || scale < 0) {
      return `is int8 without a finite scale >= 0 (got ${JSON.stringify(scale) ?? 'undefined'}); send scale = maxAbs / 127`;
    }
  } else if (scale !== undefined) {
    return `is ${dtype} but has a scale; only int8 frames carry one`;
  }
  return undefined;
}

/**
 * First thing wrong with `frame` as a tensor frame, or undefined when it is
 * well formed. Shared by `validateFrame` and the zod frame schema so both
 * give the same verdict.
 */
export function frameProblem(frame: unknown): string | undefined {
  return frameStructureProblem(frame) ?? frameContentProblem(frame as FrameFields);
}

function dtypeMatches(dtype: TensorDtype, want: TensorDtype | readonly TensorDtype[]): boolean {
  return typeof want === 'string' ? dtype === want : want.includes(dtype);
}

function shapeMatches(shape: readonly number[], want: readonly (number | null)[]): boolean {
  return shape.length === want.length && want.every((d, i) => d === null || d === shape[i]);
}

/**
 * Throws ProtocolError('bad-tensor') unless `frame` is a well-formed tensor
 * frame matching `expect`. `what` names the tensor for the message, e.g.
 * "stage:input for batch 17: tensor h".
 */
export function validateFrame(
  frame: unknown,
  expect: FrameExpectation | undefined,
  what: string,
): asserts frame is TensorFrame {
  const problem = frameProblem(frame);
  if (problem !== undefined) throw new ProtocolError('bad-tensor', `${what} ${problem}`);
  if (expect === undefined) return;
  const f = frame as TensorFrame;
  const by = expect.by ?? 'the receiver';
  if (expect.dtype !== undefined && !dtypeMatches(f.dtype, expect.dtype)) {
    const want = typeof expect.dtype === 'string' ? expect.dtype : expect.dtype.join(' or ');
    throw new ProtocolError('bad-tensor', `${what} has dtype ${f.dtype}, ${by} expects ${want}`);
  }
  if (expect.shape !== undefined && !shapeMatches(f.shape, expect.shape)) {
    throw new ProtocolError('bad-tensor', `${what} has shape ${formatShape(f.shape)}, ${by} expects ${formatShape(expect.shape)}`);
  }
}

function checkCount(values: ArrayLike<number>, shape: readonly number[], dtype: TensorDtype): void {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || shape.length > MAX_TENSOR_RANK) {
    throw new ProtocolError('bad-tensor', `encodeFrame: shape ${formatShape(shape)} must be at most ${MAX_TENSOR_RANK} non-negative integers`);
  }
  const n = shapeSize(shape);
  if (values.length !== n) {
    throw new ProtocolError('bad-tensor', `encodeFrame: ${values.length} values do not fill ${dtype} shape ${formatShape(shape)} (${n} elements)`);
  }
}

function wrongArray(dtype: TensorDtype, want: string, values: ArrayBufferView): ProtocolError {
  return new ProtocolError('bad-tensor', `encodeFrame: dtype ${dtype} needs ${want}, got ${values.constructor.name}`);
}

function viewBytes(values: ArrayBufferView): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Symmetric per-tensor quantisation: q = round(v / scale), scale = maxAbs / 127. */
function quantiseInt8(values: Float32Array): { bytes: Uint8Array; scale: number } {
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    // NaN fails both comparisons, so test finiteness explicitly.
    if (!Number.isFinite(a)) {
      throw new ProtocolError('bad-tensor', `encodeFrame: int8 cannot carry NaN or Infinity (element ${i}); the stage has diverged, or use wire float16/float32`);
    }
    if (a > maxAbs) maxAbs = a;
  }
  // An all-zero tensor decodes to zeros with any scale; 1 spares other
  // implementations a division by zero.
  const scale = maxAbs > 0 ? maxAbs / 127 : 1;
  const inv = maxAbs > 0 ? 127 / maxAbs : 0;
  const q = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]! * inv;
    // Round half away from zero so +x and -x quantise symmetrically.
    const r = x < 0 ? -Math.round(-x) : Math.round(x);
    q[i] = r > 127 ? 127 : r < -127 ? -127 : r;
  }
  return { bytes: viewBytes(q), scale };
}

/**
 * Packs `values` (row-major, `shape`) as a `dtype` frame.
 * float32/float16/int8 take a Float32Array; uint8 a Uint8Array (or a
 * Float32Array of integers 0..255, e.g. an augmented image); int32 an
 * Int32Array. float32 and uint8-from-Uint8Array frames VIEW the caller's
 * memory (no copy): do not write to `values` until the frame is sent.
 */
export function encodeFrame(values: Float32Array | Uint8Array | Int32Array, shape: number[], dtype: TensorDtype): TensorFrame {
  checkCount(values, shape, dtype);
  const frameShape = [...shape];
  switch (dtype) {
    case 'float32':
      if (!(values instanceof Float32Array)) throw wrongArray(dtype, 'a Float32Array', values);
      requireLittleEndianHost();
      return { dtype, shape: frameShape, bytes: viewBytes(values) };
    case 'float16':
      if (!(values instanceof Float32Array)) throw wrongArray(dtype, 'a Float32Array', values);
      requireLittleEndianHost();
      return { dtype, shape: frameShape, bytes: viewBytes(float32ArrayToFloat16(values)) };
    case 'int8': {
      if (!(values instanceof Float32Array)) throw wrongArray(dtype, 'a Float32Array', values);
      const { bytes, scale } = quantiseInt8(values);
      return { dtype, shape: frameShape, bytes, scale };
    }
    case 'uint8': {
      if (values instanceof Uint8Array) return { dtype, shape: frameShape, bytes: viewBytes(values) };
      if (!(values instanceof Float32Array)) throw wrongArray(dtype, 'a Uint8Array or a Float32Array of integers 0..255', values);
      const out = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        // Reject, don't clamp: a non-byte value means the caller sent the wrong tensor.
        if (!Number.isInteger(v) || v < 0 || v > 255) {
          throw new ProtocolError('bad-tensor', `encodeFrame: uint8 element ${i} is ${v}; only integers 0..255 fit`);
        }
        out[i] = v;
      }
      return { dtype, shape: frameShape, bytes: out };
    }
    case 'int32':
      if (!(values instanceof Int32Array)) throw wrongArray(dtype, 'an Int32Array', values);
      requireLittleEndianHost();
      return { dtype, shape: frameShape, bytes: viewBytes(values) };
  }
}

/** Copies `bytes` into a fresh ArrayBuffer: a msgpack bin may start at an offset no wider element type can be viewed at. */
function alignedCopy(bytes: Uint8Array): ArrayBuffer {
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out.buffer;
}

/**
 * Unpacks a frame into a new, caller-owned array: Float32Array for float32,
 * float16 and int8 (value = int8 * scale), Uint8Array for uint8, Int32Array
 * for int32. Validates the frame first (ProtocolError 'bad-tensor').
 */
export function decodeFrame<D extends TensorDtype>(frame: TensorFrame<D>): DecodedTensor<D>;
export function decodeFrame(frame: TensorFrame): Float32Array | Uint8Array | Int32Array {
  validateFrame(frame, undefined, 'decodeFrame: tensor');
  const { bytes } = frame;
  switch (frame.dtype) {
    case 'float32':
      requireLittleEndianHost();
      return new Float32Array(alignedCopy(bytes));
    case 'float16':
      requireLittleEndianHost();
      return float16ArrayToFloat32(new Uint16Array(alignedCopy(bytes)));
    case 'int8': {
      const q = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const scale = frame.scale ?? 0;
      const out = new Float32Array(q.length);
      for (let i = 0; i < q.length; i++) out[i] = q[i]! * scale;
      return out;
    }
    case 'uint8':
      return new Uint8Array(alignedCopy(bytes));
    case 'int32':
      requireLittleEndianHost();
      return new Int32Array(alignedCopy(bytes));
  }
}
