import { Packr } from 'msgpackr';
import * as thirdParty from 'socket.io-msgpack-parser';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../protocol/errors.js';
import { Decoder, Encoder, PacketType, type SocketIoPacket } from '../../protocol/parser.js';
import { decodeFrame, encodeFrame, type TensorFrame } from '../../protocol/tensor-frame.js';

function roundTrip(packet: SocketIoPacket): SocketIoPacket {
  const encoded = new Encoder().encode(packet);
  expect(encoded).toHaveLength(1);
  const decoder = new Decoder();
  const out: SocketIoPacket[] = [];
  decoder.on('decoded', (p) => out.push(p));
  decoder.add(encoded[0]);
  expect(out).toHaveLength(1);
  return out[0]!;
}

/** Decode with socket.io-msgpack-parser (notepack.io), the format's reference implementation. */
function decodeWithThirdParty(bytes: Uint8Array): unknown {
  const decoder = new thirdParty.Decoder();
  let got: unknown;
  decoder.on('decoded', (p: unknown) => {
    got = p;
  });
  decoder.add(bytes);
  return got;
}

const plainPacker = new Packr({ useRecords: false });

describe('msgpack Socket.IO parser', () => {
  it('round-trips every packet type', () => {
    const packets: SocketIoPacket[] = [
      { type: PacketType.CONNECT, nsp: '/' },
      { type: PacketType.CONNECT, nsp: '/devices', data: { token: 'secret', n: 1 } },
      { type: PacketType.DISCONNECT, nsp: '/' },
      { type: PacketType.EVENT, nsp: '/', data: ['device:heartbeat', { sentAt: 1700000000123 }] },
      { type: PacketType.EVENT, nsp: '/', data: ['stage:ready', { jobId: 'j', stage: 1 }], id: 7 },
      { type: PacketType.ACK, nsp: '/', data: [{ ok: true }], id: 7 },
      { type: PacketType.CONNECT_ERROR, nsp: '/', data: { message: 'bad token' } },
      { type: PacketType.CONNECT_ERROR, nsp: '/', data: 'Invalid namespace' },
    ];
    for (const packet of packets) expect(roundTrip(packet)).toEqual(packet);
  });

  it('carries tensor bytes as bin that arrive as identical Uint8Array, even at odd offsets', () => {
    const values = Float32Array.from({ length: 1001 }, (_, i) => i * 0.25 - 100);
    const frame = encodeFrame(values, [7, 11, 13], 'float32');
    // Padding shifts the bin's payload through every alignment inside the message.
    const offsets = new Set<number>();
    for (let pad = 0; pad < 4; pad++) {
      const packet: SocketIoPacket = { type: PacketType.EVENT, nsp: '/', data: ['stage:output', { pad: 'x'.repeat(pad), h: frame }] };
      const h = (roundTrip(packet).data as [string, { h: TensorFrame }])[1].h;
      expect(h.bytes).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(h.bytes).equals(Buffer.from(frame.bytes))).toBe(true);
      expect(Array.from(decodeFrame(h))).toEqual(Array.from(values));
      offsets.add(h.bytes.byteOffset % 4);
    }
    expect(offsets.size).toBe(4);
  });

  it('sends a bare typed array as its bytes in a bin, never as numbers or an extension', () => {
    const floats = Float32Array.from([1, 2, 3]);
    const bytes = new Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: ['x', floats] })[0]!;
    const generic = new Packr({ useRecords: false, moreTypes: false }).unpack(bytes) as { data: [string, unknown] };
    const raw = generic.data[1];
    expect(raw).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(raw as Uint8Array).equals(Buffer.from(floats.buffer))).toBe(true);
    // bin 8 marker (0xc4) with 12 bytes, not ext (0xc7) nor a fixarray of floats.
    expect(Buffer.from(bytes).includes(Buffer.from([0xc4, 12]))).toBe(true);
    expect(Buffer.from(bytes).includes(Buffer.from([0xc7]))).toBe(false);
  });

  it('leaves undefined fields out instead of sending nil or msgpack ext', () => {
    const bytes = new Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: ['x', { a: 1, h: undefined }] })[0]!;
    const map = plainPacker.unpack(bytes) as Record<string, unknown>;
    expect(Object.keys(map).sort()).toEqual(['data', 'nsp', 'type']);
    expect((map['data'] as [string, object])[1]).toEqual({ a: 1 });
    expect(Object.keys((map['data'] as [string, object])[1])).toEqual(['a']);
  });

  it('writes the same map socket.io-msgpack-parser reads, with and without binary', () => {
    const plain: SocketIoPacket = { type: PacketType.EVENT, nsp: '/', data: ['device:join', { name: 'a', n: 3 }], id: 2 };
    expect(decodeWithThirdParty(new Encoder().encode(plain)[0]!)).toEqual(plain);
    const withBin = { type: PacketType.EVENT, nsp: '/', data: ['x', { bytes: Uint8Array.from([1, 2, 3]) }] } as const;
    const got = decodeWithThirdParty(new Encoder().encode(withBin)[0]!) as { data: [string, { bytes: Uint8Array }] };
    expect(Array.from(got.data[1].bytes)).toEqual([1, 2, 3]);
  });

  it("reads socket.io-msgpack-parser's packets", () => {
    const packet = { type: 2, nsp: '/', data: ['device:heartbeat', { sentAt: 5, name: 'ü', list: [1, -2, 3.5] }], id: 4 };
    const encoded = new thirdParty.Encoder().encode(packet) as unknown as Uint8Array[];
    const decoder = new Decoder();
    let got: SocketIoPacket | undefined;
    decoder.on('decoded', (p) => {
      got = p;
    });
    decoder.add(encoded[0]);
    expect(got).toEqual(packet);
  });

  it("never mistakes notepack.io's ext-0 binary for bytes", () => {
    // notepack.io writes an ArrayBuffer as ext 0, not bin; it must not arrive as a
    // Uint8Array the schemas would accept (docs/protocol.md: send bin).
    const packet = { type: 2, nsp: '/', data: ['x', { blob: Uint8Array.from([9, 8, 7]).buffer }] };
    const encoded = new thirdParty.Encoder().encode(packet) as unknown as Uint8Array[];
    const decoder = new Decoder();
    let got: SocketIoPacket | undefined;
    decoder.on('decoded', (p) => {
      got = p;
    });
    decoder.add(encoded[0]);
    expect((got?.data as [string, { blob: unknown }])[1].blob).not.toBeInstanceOf(Uint8Array);
  });

  it('drops envelope keys Socket.IO does not know, as stock clients send options', () => {
    const decoder = new Decoder();
    let got: SocketIoPacket | undefined;
    decoder.on('decoded', (p) => {
      got = p;
    });
    decoder.add(plainPacker.pack({ type: 2, nsp: '/', data: ['x', 1], options: { compress: true } }));
    expect(got).toEqual({ type: 2, nsp: '/', data: ['x', 1] });
  });

  it('reads the nil data and id python-socketio writes', () => {
    const decoder = new Decoder();
    const out: SocketIoPacket[] = [];
    decoder.on('decoded', (p) => out.push(p));
    decoder.add(plainPacker.pack({ type: 0, data: null, nsp: '/' }));
    decoder.add(plainPacker.pack({ type: 2, data: ['x', 1], nsp: '/', id: null }));
    expect(out).toEqual([
      { type: 0, nsp: '/' },
      { type: 2, nsp: '/', data: ['x', 1] },
    ]);
  });

  it('accepts ArrayBuffer chunks as browsers deliver them', () => {
    const bytes = new Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: ['x', 1] })[0]!;
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    const decoder = new Decoder();
    let got: SocketIoPacket | undefined;
    decoder.on('decoded', (p) => {
      got = p;
    });
    decoder.add(copy.buffer);
    expect(got?.data).toEqual(['x', 1]);
  });

  it('throws on garbage bytes, text frames and malformed packets', () => {
    const bad: unknown[] = [
      Uint8Array.from([0xc1]), // never-used msgpack byte
      Uint8Array.from([0x92, 0x01]), // truncated array
      new Uint8Array(0),
      '2["device:join",{}]', // the default text parser's format
      42,
      plainPacker.pack([2, '/', ['x']]), // an array, not a map
      plainPacker.pack({ type: 9, nsp: '/', data: ['x'] }), // unknown type
      plainPacker.pack({ type: 5, nsp: '/', data: ['x'] }), // BINARY_EVENT is never used
      plainPacker.pack({ type: 2, nsp: 3, data: ['x'] }), // nsp not a string
      plainPacker.pack({ type: 2, nsp: '/', data: { x: 1 } }), // EVENT data not an array
      plainPacker.pack({ type: 2, nsp: '/', data: [] }),
      plainPacker.pack({ type: 2, nsp: '/', data: ['disconnect'] }), // reserved name
      plainPacker.pack({ type: 2, nsp: '/', data: ['x'], id: -1 }),
      plainPacker.pack({ type: 2, nsp: '/', data: ['x'], id: 1.5 }),
      plainPacker.pack({ type: 1, nsp: '/', data: ['x'] }), // DISCONNECT with data
      plainPacker.pack({ type: 0, nsp: '/', data: 'auth' }), // CONNECT data not a map
      plainPacker.pack({ type: 3, nsp: '/', data: 'x', id: 1 }),
      plainPacker.pack({ type: 4, nsp: '/', data: 1 }),
      Buffer.concat([plainPacker.pack({ type: 2, nsp: '/', data: ['x'] }), Buffer.from([0])]), // trailing bytes
    ];
    for (const chunk of bad) {
      const decoder = new Decoder();
      let emitted = false;
      decoder.on('decoded', () => {
        emitted = true;
      });
      let error: unknown;
      try {
        decoder.add(chunk);
      } catch (err: unknown) {
        error = err;
      }
      expect(error, `chunk ${String(chunk)}`).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code).toBe('bad-packet');
      expect(emitted).toBe(false);
    }
  });

  it('names the problem for a text frame', () => {
    expect(() => new Decoder().add('0')).toThrow(/text frame/);
  });

  it('has a destroy() that leaves the decoder usable', () => {
    const decoder = new Decoder();
    decoder.destroy();
    expect(() => decoder.add(new Encoder().encode({ type: PacketType.CONNECT, nsp: '/' })[0])).not.toThrow();
  });
});
