import { ProtocolError } from './errors.js';

/**
 * Hard caps on one msgpack frame, checked by `scanMsgpack` before anything
 * is decoded. msgpack lets a few bytes announce millions of values (0xdd +
 * count, then one byte per empty map), so the frame's byte size alone does
 * not bound what decoding it costs; these caps do.
 */
export interface FrameLimits {
  /** Most bytes the whole frame may have. */
  frameBytes: number;
  /** Most values (map keys included) in the frame. */
  elements: number;
  /** Deepest nesting of maps and arrays (the packet map is depth 1). */
  depth: number;
  /** Longest str, in bytes. */
  stringBytes: number;
  /** Longest bin (or ext) payload, in bytes. */
  binBytes: number;
}

export interface ScanResult {
  /** Values seen (map keys included). */
  elements: number;
  /** Deepest nesting seen. */
  depth: number;
  /** Bytes the first value occupies (msgpack stops reading there). */
  bytes: number;
  /**
   * Loop iterations the scan took: at most one per value and never more than
   * the frame's byte count, since every value takes at least one byte.
   */
  work: number;
  /** `data[0]` of a Socket.IO packet map when it is a string (the EVENT's name), else undefined. */
  eventName: string | undefined;
}

function tooLarge(what: string, got: number, limit: number): ProtocolError {
  return new ProtocolError('too-large', `frame refused before decoding: ${what} ${got} is above the limit of ${limit}`);
}

const utf8 = new TextDecoder();

function truncated(): ProtocolError {
  return new ProtocolError('bad-packet', 'invalid Socket.IO packet: the msgpack value is truncated');
}

/** An open map or array: values still to read, and what the event-name peek needs. */
interface Level {
  remaining: number;
  isMap: boolean;
  /** Index of the next value inside this container (map: keys and values alternate). */
  index: number;
  /** The root map's key just read, when it was a string. */
  lastKey: string | undefined;
  /** This array is the root map's `data`: its first string is the event name. */
  isData: boolean;
}

/**
 * Walks one msgpack value without building it: counts values and depth and
 * checks every length against `limits`, throwing ProtocolError('too-large')
 * at the first excess and 'bad-packet' for bytes that are not msgpack. It
 * allocates one small record per open container (at most `limits.depth`),
 * so a frame costs O(its bytes) time and O(depth) memory here, whatever it
 * announces.
 */
export function scanMsgpack(bytes: Uint8Array, limits: FrameLimits): ScanResult {
  if (bytes.byteLength > limits.frameBytes) throw tooLarge('frame of bytes', bytes.byteLength, limits.frameBytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.byteLength;
  let pos = 0;
  let elements = 0;
  let maxDepth = 0;
  let work = 0;
  let eventName: string | undefined;
  const stack: Level[] = [];

  const need = (n: number): void => {
    if (pos + n > end) throw truncated();
  };
  const uint = (n: 1 | 2 | 4): number => {
    need(n);
    const v = n === 1 ? view.getUint8(pos) : n === 2 ? view.getUint16(pos) : view.getUint32(pos);
    pos += n;
    return v;
  };
  const skip = (n: number): void => {
    need(n);
    pos += n;
  };
  const str = (len: number): string | undefined => {
    if (len > limits.stringBytes) throw tooLarge('string of bytes', len, limits.stringBytes);
    need(len);
    // Only short strings are read as text: the root map's keys and the event name.
    const top = stack[stack.length - 1];
    const wanted = top !== undefined && len <= 64 && ((stack.length === 1 && top.isMap && top.index % 2 === 0) || (top.isData && top.index === 0));
    const text = wanted ? utf8.decode(bytes.subarray(pos, pos + len)) : undefined;
    pos += len;
    return text;
  };
  const bin = (len: number): void => {
    if (len > limits.binBytes) throw tooLarge('bin of bytes', len, limits.binBytes);
    skip(len);
  };
  const open = (count: number, isMap: boolean): void => {
    const values = isMap ? count * 2 : count;
    // Checked on announcement: a header claiming more values than the frame could hold is refused at once.
    if (elements + values > limits.elements) throw tooLarge('count of values', elements + values, limits.elements);
    if (values > end - pos) throw truncated();
    const parent = stack[stack.length - 1];
    const isData = parent !== undefined && stack.length === 1 && parent.isMap && parent.index % 2 === 1 && parent.lastKey === 'data' && !isMap;
    if (values === 0) return;
    if (stack.length + 1 > limits.depth) throw tooLarge('nesting depth', stack.length + 1, limits.depth);
    stack.push({ remaining: values, isMap, index: 0, lastKey: undefined, isData });
    maxDepth = Math.max(maxDepth, stack.length);
  };

  do {
    work++;
    need(1);
    const top = stack[stack.length - 1];
    if (top !== undefined) top.remaining--;
    elements++;
    if (elements > limits.elements) throw tooLarge('count of values', elements, limits.elements);
    const b = view.getUint8(pos++);
    let text: string | undefined;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      // fixint, negative fixint, nil, false, true: the byte is the value
    } else if (b >= 0x80 && b <= 0x8f) {
      open(b & 0x0f, true);
    } else if (b >= 0x90 && b <= 0x9f) {
      open(b & 0x0f, false);
    } else if (b >= 0xa0 && b <= 0xbf) {
      text = str(b & 0x1f);
    } else {
      switch (b) {
        case 0xc4: bin(uint(1)); break;
        case 0xc5: bin(uint(2)); break;
        case 0xc6: bin(uint(4)); break;
        case 0xc7: { const len = uint(1); skip(1); bin(len); break; }
        case 0xc8: { const len = uint(2); skip(1); bin(len); break; }
        case 0xc9: { const len = uint(4); skip(1); bin(len); break; }
        case 0xca: skip(4); break;
        case 0xcb: skip(8); break;
        case 0xcc: case 0xd0: skip(1); break;
        case 0xcd: case 0xd1: skip(2); break;
        case 0xce: case 0xd2: skip(4); break;
        case 0xcf: case 0xd3: skip(8); break;
        case 0xd4: skip(2); break;
        case 0xd5: skip(3); break;
        case 0xd6: skip(5); break;
        case 0xd7: skip(9); break;
        case 0xd8: skip(17); break;
        case 0xd9: text = str(uint(1)); break;
        case 0xda: text = str(uint(2)); break;
        case 0xdb: text = str(uint(4)); break;
        case 0xdc: open(uint(2), false); break;
        case 0xdd: open(uint(4), false); break;
        case 0xde: open(uint(2), true); break;
        case 0xdf: open(uint(4), true); break;
        default:
          throw new ProtocolError('bad-packet', `invalid Socket.IO packet: byte 0x${b.toString(16)} at offset ${pos - 1} is not msgpack`);
      }
    }
    if (top !== undefined) {
      if (top.isData && top.index === 0 && eventName === undefined) eventName = text;
      if (top === stack[0] && top.isMap && top.index % 2 === 0) top.lastKey = text;
      top.index++;
    }
    // Close every container whose values are all read (a container just opened has some left).
    while (stack.length > 0 && stack[stack.length - 1]!.remaining === 0) stack.pop();
  } while (stack.length > 0);
  return { elements, depth: maxDepth, bytes: pos, work, eventName };
}
