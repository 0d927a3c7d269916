import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../protocol/errors.js';
import { deviceFrameLimits, INGRESS_LIMITS } from '../../protocol/ingress-limits.js';
import { scanMsgpack, type FrameLimits } from '../../protocol/msgpack-scan.js';
import { Decoder, Encoder, PacketType, TRUSTED_PEER_LIMITS } from '../../protocol/parser.js';

const packr = new Packr({ useRecords: false, moreTypes: false });
const roomy: FrameLimits = { frameBytes: 2 ** 30, elements: 1e9, depth: 1000, stringBytes: 2 ** 30, binBytes: 2 ** 30 };

/** Values msgpack holds for `v` (map keys included), the way the scanner counts them. */
function countValues(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce((n: number, x) => n + countValues(x), 0);
  if (v instanceof Uint8Array) return 1;
  if (typeof v === 'object' && v !== null) return 1 + Object.values(v).reduce((n: number, x) => n + 1 + countValues(x), 0);
  return 1;
}

function refusal(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err: unknown) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('expected a ProtocolError');
}

/** The bomb: EVENT device:heartbeat whose payload is an array of `count` empty maps. */
function emptyMapBomb(count: number): Uint8Array {
  const head = packr.pack({ type: 2, nsp: '/', data: ['device:heartbeat', null] });
  // The packed map ends with ... 'device:heartbeat', nil(0xc0), then "nsp" etc.; splice the array in for the nil.
  const nil = Buffer.from(head).indexOf(Buffer.from([0xc0]));
  const array = Buffer.alloc(5 + count, 0x80);
  array[0] = 0xdd;
  array.writeUInt32BE(count, 1);
  return Buffer.concat([head.subarray(0, nil), array, head.subarray(nil + 1)]);
}

describe('msgpack pre-scan', () => {
  it('counts the values and depth msgpackr would build', () => {
    const value = { type: 2, nsp: '/', data: ['stage:metrics', { modules: [{ module: 1, loss: 0.5 }], peak: [1, 2, 3], bytes: Uint8Array.of(1, 2) }] };
    const scan = scanMsgpack(packr.pack(value), roomy);
    expect(scan.elements).toBe(countValues(value));
    expect(scan.depth).toBe(5);
    expect(scan.eventName).toBe('stage:metrics');
  });

  it('refuses a header that announces more values than allowed, before reading them', () => {
    const bomb = emptyMapBomb(67_000_000);
    const t0 = performance.now();
    const err = refusal(() => scanMsgpack(bomb, TRUSTED_PEER_LIMITS));
    expect(err.code).toBe('too-large');
    expect(performance.now() - t0).toBeLessThan(100);
    const capped = refusal(() => scanMsgpack(bomb, { ...roomy, elements: 4096 }));
    expect(capped.message).toMatch(/count of values 670000\d\d is above the limit of 4096/);
  });

  it('refuses frames over the byte, depth, string and bin caps', () => {
    const small = deviceFrameLimits(1024);
    expect(refusal(() => scanMsgpack(new Uint8Array(2048), small)).message).toMatch(/frame of bytes 2048 is above the limit of 1024/);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(refusal(() => scanMsgpack(packr.pack(deep), small)).message).toMatch(/nesting depth 17 is above the limit of 16/);
    expect(refusal(() => scanMsgpack(packr.pack('x'.repeat(9000)), INGRESS_LIMITS.preJoin)).message).toMatch(/string of bytes 9000/);
    expect(refusal(() => scanMsgpack(packr.pack(new Uint8Array(10)), INGRESS_LIMITS.preJoin)).message).toMatch(/bin of bytes 10 is above the limit of 0/);
  });

  it('refuses truncated values and bytes that are not msgpack as bad packets', () => {
    const whole = packr.pack({ a: [1, 2, 'three'] });
    for (let cut = 1; cut < whole.length; cut++) expect(refusal(() => scanMsgpack(whole.subarray(0, cut), roomy)).code).toBe('bad-packet');
    expect(refusal(() => scanMsgpack(Uint8Array.of(0xc1), roomy)).message).toMatch(/0xc1/);
    expect(refusal(() => scanMsgpack(Uint8Array.of(0xdd, 0, 0, 0, 9, 0x80), roomy)).code).toBe('bad-packet');
  });

  it('agrees with msgpackr on every value it can pack, with work bounded by the byte count', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.uint8Array({ maxLength: 64 }), (json, bin) => {
        const value = { type: 2, nsp: '/', data: ['x', json, bin] };
        const bytes = packr.pack(value);
        const scan = scanMsgpack(bytes, roomy);
        expect(scan.bytes).toBe(bytes.length);
        expect(scan.elements).toBe(countValues(JSON.parse(JSON.stringify({ ...value, data: ['x', json, null] }))));
        expect(scan.work).toBeLessThanOrEqual(bytes.length);
        expect(scan.eventName).toBe('x');
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but a ProtocolError on random or mutated bytes, and works at most once per byte', () => {
    const valid = new Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: ['device:join', { name: 'a', list: [1, 2, { b: 'c' }] }] })[0]!;
    const mutated = fc.tuple(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(valid.length)).map(([edits, cut]) => {
      const b = Uint8Array.from(valid);
      for (const [at, byte] of edits) b[at] = byte;
      return b.subarray(0, Math.max(1, cut));
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 256 }), mutated), (bytes) => {
        try {
          const scan = scanMsgpack(bytes, deviceFrameLimits(1 << 20));
          expect(scan.work).toBeLessThanOrEqual(bytes.length);
        } catch (err: unknown) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('Decoder limits', () => {
  it('refuses the 64 MiB empty-map bomb under pre-join limits in milliseconds, without decoding it', () => {
    const bomb = emptyMapBomb(64 * 1024 * 1024);
    const decoder = new Decoder(INGRESS_LIMITS.preJoin);
    const decoded: unknown[] = [];
    decoder.on('decoded', (p) => decoded.push(p));
    const t0 = performance.now();
    expect(refusal(() => decoder.add(bomb)).message).toMatch(/frame of bytes \d+ is above the limit of 65536/);
    expect(refusal(() => new Decoder(deviceFrameLimits(128 * 1024 * 1024)).add(bomb)).message).toMatch(/count of values/);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(decoded).toEqual([]);
  });

  it('decodes a device join under pre-join limits and large tensors once the limits are raised', () => {
    const decoder = new Decoder(INGRESS_LIMITS.preJoin);
    const out: unknown[] = [];
    decoder.on('decoded', (p) => out.push(p));
    const encoder = new Encoder();
    decoder.add(encoder.encode({ type: PacketType.EVENT, nsp: '/', data: ['device:join', { name: 'a', token: 't'.repeat(4096) }] })[0]);
    const output = encoder.encode({ type: PacketType.EVENT, nsp: '/', data: ['stage:output', { h: new Uint8Array(1 << 20) }] })[0]!;
    expect(refusal(() => decoder.add(output)).code).toBe('too-large');
    decoder.setLimits(deviceFrameLimits(2 << 20));
    decoder.add(output);
    expect(out).toHaveLength(2);
  });

  it('asks admit() before it scans, so a rate cap refuses a frame unread', () => {
    const decoder = new Decoder();
    const seen: number[] = [];
    decoder.admit = (n) => {
      seen.push(n);
      throw new ProtocolError('rate-limit', 'too fast');
    };
    expect(refusal(() => decoder.add(Uint8Array.of(0xc1))).code).toBe('rate-limit');
    expect(seen).toEqual([1]);
  });
});
