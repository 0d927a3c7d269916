/**
 * Minimal MATLAB Level 5 MAT-file reader: enough for numeric (non-sparse,
 * real or complex) arrays such as SVHN's `X` and `y`, uncompressed or inside
 * miCOMPRESSED (zlib) elements, little- or big-endian. Other array classes
 * (cell, struct, char, sparse...) are skipped.
 */
import { inflateSync } from 'node:zlib';
import { DatasetFileError, bytes } from './dataset-file-error.js';

export const MI = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  INT64: 12,
  UINT64: 13,
  MATRIX: 14,
  COMPRESSED: 15,
} as const;

/** Bytes per value of each numeric storage type. */
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8 };

/** MATLAB array classes that hold plain numbers (mxDOUBLE_CLASS .. mxUINT64_CLASS). */
const NUMERIC_CLASSES = new Set([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);

export interface MatArray {
  name: string;
  /** mx class id (6 = double, 9 = uint8, ...). */
  classId: number;
  /** MATLAB dimensions; data is column-major (first dimension fastest). */
  dims: number[];
  /** mi storage type of `real` (MATLAB may store a double array as miUINT8). */
  storageType: number;
  /** Raw bytes of the real part, in the file's byte order. */
  real: Uint8Array;
  littleEndian: boolean;
}

interface Tag {
  type: number;
  size: number;
  /** Offset of the element's data. */
  dataOffset: number;
  /** Offset just after the element, including padding. */
  next: number;
}

class Reader {
  readonly view: DataView;
  constructor(
    readonly data: Uint8Array,
    readonly file: string,
    readonly le: boolean,
    /** Describes where `data` lives in the file, for error messages. */
    readonly where: string,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  u32(off: number): number {
    return this.view.getUint32(off, this.le);
  }

  tag(off: number, padCompressed: boolean): Tag {
    if (off + 8 > this.data.length) {
      throw new DatasetFileError(this.file, `truncated MAT file: expected an 8-byte data element tag at offset ${off}${this.where}, found ${bytes(this.data.length - off)}`);
    }
    const first = this.u32(off);
    // Small data element: size in the upper 16 bits, data packed in the tag.
    if (first >>> 16 !== 0) {
      const size = first >>> 16;
      if (size > 4) throw new DatasetFileError(this.file, `corrupt MAT file: small data element of ${size} bytes at offset ${off}${this.where}`);
      return { type: first & 0xffff, size, dataOffset: off + 4, next: off + 8 };
    }
    const size = this.u32(off + 4);
    const end = off + 8 + size;
    if (end > this.data.length) {
      throw new DatasetFileError(
        this.file,
        `truncated MAT file: data element at offset ${off}${this.where} declares ${bytes(size)}, only ${bytes(this.data.length - off - 8)} remain`,
      );
    }
    // miCOMPRESSED elements are not padded to 8 bytes (MATLAB writes them back to back).
    const padded = first === MI.COMPRESSED && !padCompressed ? end : off + 8 + Math.ceil(size / 8) * 8;
    return { type: first, size, dataOffset: off + 8, next: Math.min(padded, this.data.length) };
  }
}

function parseMatrix(r: Reader, tag: Tag): MatArray | undefined {
  const end = tag.dataOffset + tag.size;
  if (tag.size === 0) return undefined; // empty array placeholder
  const flags = r.tag(tag.dataOffset, true);
  if (flags.type !== MI.UINT32 || flags.size !== 8) {
    throw new DatasetFileError(r.file, `corrupt MAT file: array flags at offset ${tag.dataOffset}${r.where} have type ${flags.type} size ${flags.size}, expected miUINT32 of 8 bytes`);
  }
  const flagWord = r.u32(flags.dataOffset);
  const classId = flagWord & 0xff;
  const complex = (flagWord & 0x0800) !== 0;
  if (!NUMERIC_CLASSES.has(classId)) return undefined;
  const dimsTag = r.tag(flags.next, true);
  if (dimsTag.type !== MI.INT32 || dimsTag.size % 4 !== 0 || dimsTag.size < 8) {
    throw new DatasetFileError(r.file, `corrupt MAT file: dimensions element at offset ${flags.next}${r.where} has type ${dimsTag.type} size ${dimsTag.size}, expected miINT32`);
  }
  const dims: number[] = [];
  for (let i = 0; i < dimsTag.size / 4; i++) dims.push(r.view.getInt32(dimsTag.dataOffset + 4 * i, r.le));
  if (dims.some((d) => d < 0)) throw new DatasetFileError(r.file, `corrupt MAT file: negative dimension in [${dims.join(', ')}]`);
  const nameTag = r.tag(dimsTag.next, true);
  if (nameTag.type !== MI.INT8 && nameTag.type !== MI.UINT8) {
    throw new DatasetFileError(r.file, `corrupt MAT file: array name element has type ${nameTag.type}, expected miINT8`);
  }
  const name = Buffer.from(r.data.subarray(nameTag.dataOffset, nameTag.dataOffset + nameTag.size)).toString('latin1');
  const realTag = r.tag(nameTag.next, true);
  const elemSize = TYPE_SIZE[realTag.type];
  if (elemSize === undefined) {
    throw new DatasetFileError(r.file, `unsupported MAT storage type ${realTag.type} for variable '${name}'`);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (realTag.size !== count * elemSize) {
    throw new DatasetFileError(
      r.file,
      `corrupt MAT file: variable '${name}' has dimensions [${dims.join('x')}] (${count} values, ${bytes(count * elemSize)}), its data element holds ${bytes(realTag.size)}`,
    );
  }
  if (realTag.dataOffset + realTag.size > end) {
    throw new DatasetFileError(r.file, `corrupt MAT file: variable '${name}' data runs past its array element`);
  }
  void complex; // the imaginary part, if any, is ignored: SVHN has none
  return {
    name,
    classId,
    dims,
    storageType: realTag.type,
    real: r.data.subarray(realTag.dataOffset, realTag.dataOffset + realTag.size),
    littleEndian: r.le,
  };
}

/** Parses all numeric top-level variables of a MAT v5 file. */
export function parseMat5(data: Uint8Array, file: string): Map<string, MatArray> {
  if (data.length < 128) {
    throw new DatasetFileError(file, `truncated MAT file: expected a 128-byte header, found ${bytes(data.length)}`);
  }
  const text = Buffer.from(data.subarray(0, 19)).toString('latin1');
  const endian = String.fromCharCode(data[126], data[127]);
  if (!text.startsWith('MATLAB 5.0 MAT-file') || (endian !== 'IM' && endian !== 'MI')) {
    const head = Buffer.from(data.subarray(0, 19)).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
    throw new DatasetFileError(file, `not a MATLAB 5.0 MAT-file: expected header text 'MATLAB 5.0 MAT-file' and endian 'IM'/'MI', found '${head}' and '${endian.replace(/[^\x20-\x7e]/g, '.')}'`);
  }
  const le = endian === 'IM';
  const version = new DataView(data.buffer, data.byteOffset + 124, 2).getUint16(0, le);
  if (version !== 0x0100) {
    throw new DatasetFileError(file, `unsupported MAT-file version 0x${version.toString(16)}, expected 0x0100 (v7.3/HDF5 files are not supported)`);
  }
  const out = new Map<string, MatArray>();
  const top = new Reader(data, file, le, '');
  let off = 128;
  while (off < data.length) {
    // Trailing zero padding after the last element is harmless.
    if (data.length - off < 8 && data.subarray(off).every((b) => b === 0)) break;
    const tag = top.tag(off, false);
    if (tag.type === MI.MATRIX) {
      const arr = parseMatrix(top, tag);
      if (arr) out.set(arr.name, arr);
    } else if (tag.type === MI.COMPRESSED) {
      let inflated: Uint8Array;
      try {
        inflated = new Uint8Array(inflateSync(data.subarray(tag.dataOffset, tag.dataOffset + tag.size)));
      } catch (err: unknown) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new DatasetFileError(file, `corrupt MAT file: compressed element at offset ${off} does not inflate (${msg})`);
      }
      const inner = new Reader(inflated, file, le, ` of the compressed element at offset ${off}`);
      const innerTag = inner.tag(0, true);
      if (innerTag.type === MI.MATRIX) {
        const arr = parseMatrix(inner, innerTag);
        if (arr) out.set(arr.name, arr);
      }
    }
    off = tag.next;
  }
  return out;
}

/** Reads value i of a MatArray as a JS number, whatever its storage type. */
export function matValue(a: MatArray, i: number): number {
  const v = new DataView(a.real.buffer, a.real.byteOffset, a.real.byteLength);
  switch (a.storageType) {
    case MI.INT8: return v.getInt8(i);
    case MI.UINT8: return v.getUint8(i);
    case MI.INT16: return v.getInt16(2 * i, a.littleEndian);
    case MI.UINT16: return v.getUint16(2 * i, a.littleEndian);
    case MI.INT32: return v.getInt32(4 * i, a.littleEndian);
    case MI.UINT32: return v.getUint32(4 * i, a.littleEndian);
    case MI.SINGLE: return v.getFloat32(4 * i, a.littleEndian);
    case MI.DOUBLE: return v.getFloat64(8 * i, a.littleEndian);
    case MI.INT64: return Number(v.getBigInt64(8 * i, a.littleEndian));
    case MI.UINT64: return Number(v.getBigUint64(8 * i, a.littleEndian));
    default: throw new RangeError(`matValue: unsupported storage type ${a.storageType}`);
  }
}
