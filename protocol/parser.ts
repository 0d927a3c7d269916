import { Emitter } from '@socket.io/component-emitter';
import { Packr, Unpackr, type Options } from 'msgpackr';
import { ProtocolError } from './errors.js';
import { scanMsgpack, type FrameLimits } from './msgpack-scan.js';

/**
 * Socket.IO packet types this parser carries. BINARY_EVENT/BINARY_ACK (5, 6)
 * never appear: binary rides inside the one msgpack map as bin values.
 */
export const PacketType = {
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
} as const;
export type PacketTypeCode = (typeof PacketType)[keyof typeof PacketType];

/** A Socket.IO packet as the library hands it to a parser and expects it back. */
export interface SocketIoPacket {
  type: PacketTypeCode;
  nsp: string;
  data?: unknown;
  id?: number;
}

// Names Socket.IO uses for its own events; a peer may not send them.
const RESERVED_EVENTS = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

/*
 * useRecords: false keeps every map a plain msgpack map other implementations
 * read (python-socketio, socket.io-msgpack-parser). moreTypes: false makes
 * every typed array, Buffer and ArrayBuffer a plain bin (its bytes, host
 * order) instead of msgpackr's typed-array extension. Undefined object fields
 * are left out, as JSON would, so optional fields stay absent instead of
 * arriving as nil, which the schemas refuse.
 */
const packrOptions: Options & { skipValues: unknown[] } = {
  useRecords: false,
  moreTypes: false,
  encodeUndefinedAsNil: true,
  skipValues: [undefined],
};
const packr = new Packr(packrOptions);

// int64AsType 'number': peers like Python send integers above 2^32 as
// 64-bit ints; as BigInt every number schema would refuse them.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

function badPacket(reason: string, cause?: unknown): ProtocolError {
  return new ProtocolError('bad-packet', `invalid Socket.IO packet: ${reason}`, cause === undefined ? undefined : { cause });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Socket.IO's own per-type data rules (socket.io-parser's isDataValid). */
function checkData(type: PacketTypeCode, data: unknown): void {
  switch (type) {
    case PacketType.CONNECT:
      if (data !== undefined && !isPlainObject(data)) throw badPacket('CONNECT data must be a map (the auth payload) or absent');
      return;
    case PacketType.DISCONNECT:
      if (data !== undefined) throw badPacket('DISCONNECT carries no data');
      return;
    case PacketType.EVENT: {
      if (!Array.isArray(data) || data.length === 0) throw badPacket('EVENT data must be a non-empty array [name, ...args]');
      const name: unknown = data[0];
      if (typeof name === 'number') return;
      if (typeof name !== 'string' || RESERVED_EVENTS.has(name)) throw badPacket(`EVENT name ${JSON.stringify(name) ?? 'undefined'} is not allowed`);
      return;
    }
    case PacketType.ACK:
      if (!Array.isArray(data)) throw badPacket('ACK data must be an array');
      return;
    case PacketType.CONNECT_ERROR:
      if (typeof data !== 'string' && !isPlainObject(data)) throw badPacket('CONNECT_ERROR data must be a string or a map');
      return;
  }
}

/**
 * Checks the decoded map and rebuilds it with only the keys Socket.IO knows.
 * Other keys are dropped, not refused: socket.io-msgpack-parser serialises the
 * whole packet object, including socket.io-client's `options: {compress}`.
 */
export function checkPacket(value: unknown): SocketIoPacket {
  if (!isPlainObject(value)) throw badPacket('expected a msgpack map {type, nsp, data?, id?}');
  const type = value['type'];
  if (typeof type !== 'number' || !Number.isInteger(type) || type < PacketType.CONNECT || type > PacketType.CONNECT_ERROR) {
    throw badPacket(`type ${JSON.stringify(type) ?? 'undefined'} is not one of 0..4`);
  }
  const nsp = value['nsp'];
  if (typeof nsp !== 'string') throw badPacket('nsp must be a string');
  // nil means absent: python-socketio writes data: None and omits nothing.
  const data = value['data'] === null ? undefined : value['data'];
  const id = value['id'] === null ? undefined : value['id'];
  if (id !== undefined && (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0)) throw badPacket('id must be a non-negative integer');
  const packetType = type as PacketTypeCode;
  checkData(packetType, data);
  const packet: SocketIoPacket = { type: packetType, nsp };
  if (data !== undefined) packet.data = data;
  if (id !== undefined) packet.id = id as number;
  return packet;
}

/** Encodes each packet as ONE binary WebSocket message: the msgpack map {type, data, nsp, id?}. */
export class Encoder {
  encode(packet: SocketIoPacket): Uint8Array[] {
    const map: Record<string, unknown> = { type: packet.type, data: packet.data, nsp: packet.nsp };
    if (packet.id !== undefined && packet.id !== null) map['id'] = packet.id;
    return [packr.pack(map)];
  }
}

interface DecoderReservedEvents {
  decoded: (packet: SocketIoPacket) => void;
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') throw badPacket('got a text frame; this protocol sends every packet as one binary msgpack frame');
  throw badPacket(`got a ${typeof chunk} chunk, expected binary data`);
}

/**
 * What a Decoder accepts unless told otherwise: a peer that is trusted with
 * big frames (a device reading the coordinator's), yet still no frame that
 * announces more values or nesting than any message of this protocol has.
 */
export const TRUSTED_PEER_LIMITS: FrameLimits = {
  frameBytes: 2 ** 32,
  elements: 1_000_000,
  depth: 32,
  stringBytes: 2 ** 32,
  binBytes: 2 ** 32,
};

/**
 * Decodes one binary message per packet and emits 'decoded'. Every frame is
 * first scanned against the decoder's FrameLimits (msgpack-scan.ts), so a
 * frame over a limit is refused before a single value is built. Throws on
 * anything else; Socket.IO then closes that one connection, which is the
 * intended answer to garbage. One Decoder serves one connection, so its
 * limits are that connection's (a server raises them once a peer is trusted).
 */
export class Decoder extends Emitter<Record<never, never>, Record<never, never>, DecoderReservedEvents> {
  private limits: FrameLimits;
  /** Called with each frame's size before it is scanned (rate caps); throws ProtocolError to refuse it. */
  admit: ((frameBytes: number) => void) | undefined;

  constructor(limits: FrameLimits = TRUSTED_PEER_LIMITS) {
    super();
    this.limits = limits;
  }

  get frameLimits(): FrameLimits {
    return this.limits;
  }

  setLimits(limits: FrameLimits): void {
    this.limits = limits;
  }

  add(chunk: unknown): void {
    const bytes = toBytes(chunk);
    this.admit?.(bytes.byteLength);
    scanMsgpack(bytes, this.limits);
    let value: unknown;
    try {
      value = unpackr.unpack(bytes);
    } catch (err: unknown) {
      throw badPacket(`not a single msgpack value (${err instanceof Error ? err.message : String(err)})`, err);
    }
    this.emitReserved('decoded', checkPacket(value));
  }

  /** Nothing to release: a packet never spans messages, so no partial state is kept. */
  destroy(): void {}
}

/** A parser whose decoders start at `limits` (e.g. a server's limits for peers that have not joined). */
export function parserWithLimits(limits: FrameLimits): { Encoder: typeof Encoder; Decoder: typeof Decoder } {
  class LimitedDecoder extends Decoder {
    constructor() {
      super(limits);
    }
  }
  return { Encoder, Decoder: LimitedDecoder };
}

/** Pass as `{ parser }` to socket.io's Server and to socket.io-client's io(). */
export const parser = { Encoder, Decoder };
