/**
 * Writers for small files in the exact official on-disk formats, used by the
 * reader and loader tests. Kept separate from the readers on purpose: a shared
 * bug would otherwise cancel out.
 */
import { deflateSync, gzipSync } from 'node:zlib';

/** Pixel value used by all fixtures, so tests can check a position exactly. */
export function pixel(i: number, y: number, x: number, ch: number): number {
  return (i * 31 + y * 7 + x * 3 + ch * 50) % 256;
}

/** CIFAR-10 batch: per record 1 label byte + R, G, B planes (row-major 32x32). */
export function cifarBatch(labels: number[]): Uint8Array {
  const out = new Uint8Array(labels.length * 3073);
  labels.forEach((label, i) => {
    const rec = i * 3073;
    out[rec] = label;
    for (let ch = 0; ch < 3; ch++)
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) out[rec + 1 + ch * 1024 + y * 32 + x] = pixel(i, y, x, ch);
  });
  return out;
}

/** STL-10 `*_X.bin`: per image 3 planes of 96x96, each column-major. */
export function stlImages(n: number): Uint8Array {
  const out = new Uint8Array(n * 27648);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < 3; ch++)
      for (let x = 0; x < 96; x++) for (let y = 0; y < 96; y++) out[i * 27648 + ch * 9216 + x * 96 + y] = pixel(i, y, x, ch);
  return out;
}

function be32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

/** IDX3 images [n, rows, cols], raw (gzip it with gzip()). */
export function idxImages(n: number, rows: number, cols: number, magic = 0x00000803): Uint8Array {
  const body = new Uint8Array(n * rows * cols);
  for (let i = 0; i < n; i++) for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) body[(i * rows + y) * cols + x] = pixel(i, y, x, 0);
  return Uint8Array.from([...be32(magic), ...be32(n), ...be32(rows), ...be32(cols), ...body]);
}

export function idxLabels(labels: number[], magic = 0x00000801): Uint8Array {
  return Uint8Array.from([...be32(magic), ...be32(labels.length), ...labels]);
}

export function gzip(data: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(data));
}

// ---- MATLAB v5 ----

const miINT8 = 1;
const miUINT8 = 2;
const miINT32 = 5;
const miUINT32 = 6;
const miDOUBLE = 9;
const miMATRIX = 14;
const miCOMPRESSED = 15;
const mxDOUBLE_CLASS = 6;
const mxUINT8_CLASS = 9;

class Bytes {
  private parts: number[] = [];
  constructor(private readonly le: boolean) {}
  u32(v: number): this {
    const b = new DataView(new ArrayBuffer(4));
    b.setUint32(0, v, this.le);
    this.parts.push(...new Uint8Array(b.buffer));
    return this;
  }
  i32(v: number): this {
    const b = new DataView(new ArrayBuffer(4));
    b.setInt32(0, v, this.le);
    this.parts.push(...new Uint8Array(b.buffer));
    return this;
  }
  raw(data: ArrayLike<number>): this {
    for (let i = 0; i < data.length; i++) this.parts.push(data[i]);
    return this;
  }
  pad8(): this {
    while (this.parts.length % 8) this.parts.push(0);
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** A data element: tag + data + padding; small-element format when allowed and <= 4 bytes. */
function element(le: boolean, type: number, data: Uint8Array, small = false): Uint8Array {
  const b = new Bytes(le);
  if (small && data.length <= 4) {
    // Small format: in the file's byte order, size in the high 16 bits of the first word.
    b.u32((data.length << 16) | type).raw(data).raw(new Uint8Array(4 - data.length));
    return b.bytes();
  }
  return b.u32(type).u32(data.length).raw(data).pad8().bytes();
}

export interface MatVar {
  name: string;
  dims: number[];
  /** Values in column-major order. */
  values: ArrayLike<number>;
  /** How the variable is stored: a uint8 array, a double array, or a double array stored as miUINT8. */
  kind: 'uint8' | 'double' | 'double-as-uint8';
}

function matrixElement(le: boolean, v: MatVar): Uint8Array {
  const classId = v.kind === 'uint8' ? mxUINT8_CLASS : mxDOUBLE_CLASS;
  const flags = new Bytes(le).u32(classId).u32(0).bytes();
  const dims = new Bytes(le);
  for (const d of v.dims) dims.i32(d);
  let real: Uint8Array;
  let realType: number;
  if (v.kind === 'double') {
    const dv = new DataView(new ArrayBuffer(v.values.length * 8));
    for (let i = 0; i < v.values.length; i++) dv.setFloat64(i * 8, v.values[i], le);
    real = new Uint8Array(dv.buffer);
    realType = miDOUBLE;
  } else {
    real = Uint8Array.from(v.values);
    realType = miUINT8;
  }
  const body = new Bytes(le)
    .raw(element(le, miUINT32, flags))
    .raw(element(le, miINT32, dims.bytes()))
    .raw(element(le, miINT8, new TextEncoder().encode(v.name), true))
    .raw(element(le, realType, real))
    .bytes();
  return new Bytes(le).u32(miMATRIX).u32(body.length).raw(body).bytes();
}

/** A MATLAB 5.0 MAT-file; `compressed` wraps each variable in a zlib miCOMPRESSED element. */
export function matFile(vars: MatVar[], opts: { compressed?: boolean; bigEndian?: boolean } = {}): Uint8Array {
  const le = !opts.bigEndian;
  const text = 'MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024';
  const header = new Uint8Array(128).fill(0x20);
  header.set(new TextEncoder().encode(text));
  header.fill(0, 116, 124); // subsystem data offset
  const dv = new DataView(header.buffer);
  dv.setUint16(124, 0x0100, le);
  // Endian indicator: 'MI' written as a 16-bit value, so a little-endian file reads "IM".
  dv.setUint16(126, 0x4d49, le);
  const b = new Bytes(le).raw(header);
  for (const v of vars) {
    const m = matrixElement(le, v);
    if (opts.compressed) {
      const z = deflateSync(m);
      b.u32(miCOMPRESSED).u32(z.length).raw(z); // MATLAB does not pad compressed elements
    } else {
      b.raw(m);
    }
  }
  return b.bytes();
}

/** SVHN-style X (32x32x3xN, column-major) and y (Nx1) variables. */
export function svhnVars(labels: number[], yKind: MatVar['kind'] = 'double'): MatVar[] {
  const n = labels.length;
  const x = new Uint8Array(32 * 32 * 3 * n);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < 3; ch++)
      for (let col = 0; col < 32; col++) for (let row = 0; row < 32; row++) x[row + 32 * col + 1024 * ch + 3072 * i] = pixel(i, row, col, ch);
  return [
    { name: 'X', dims: [32, 32, 3, n], values: x, kind: 'uint8' },
    { name: 'y', dims: [n, 1], values: labels, kind: yKind },
  ];
}

// ---- tar ----

function tarHeader(name: string, size: number, type = '0'): Uint8Array {
  const h = new Uint8Array(512);
  const enc = new TextEncoder();
  h.set(enc.encode(name.slice(0, 100)), 0);
  const octal = (n: number, len: number): Uint8Array => enc.encode(`${n.toString(8).padStart(len - 1, '0')}\0`);
  h.set(octal(0o644, 8), 100);
  h.set(octal(0, 8), 108);
  h.set(octal(0, 8), 116);
  h.set(octal(size, 12), 124);
  h.set(octal(0, 12), 136);
  h[156] = type.charCodeAt(0);
  h.set(enc.encode('ustar\0'), 257);
  h.set(enc.encode('00'), 263);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.set(enc.encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
  return h;
}

/** A gzip'd ustar archive; names over 100 bytes use a GNU 'L' long-name record. */
export function tarGz(entries: Array<{ name: string; data: Uint8Array }>): Uint8Array {
  const blocks: Uint8Array[] = [];
  const pad = (n: number): Uint8Array => new Uint8Array((512 - (n % 512)) % 512);
  for (const e of entries) {
    if (e.name.length > 100) {
      const long = new TextEncoder().encode(`${e.name}\0`);
      blocks.push(tarHeader('././@LongLink', long.length, 'L'), long, pad(long.length));
    }
    blocks.push(tarHeader(e.name, e.data.length), e.data, pad(e.data.length));
  }
  blocks.push(new Uint8Array(1024));
  const total = blocks.reduce((a, b) => a + b.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return gzip(out);
}
