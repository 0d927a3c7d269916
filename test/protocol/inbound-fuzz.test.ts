import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dashSubscribeSchema } from '../../protocol/dashboard-messages.js';
import { ProtocolError } from '../../protocol/errors.js';
import { DEVICE_TO_SERVER_EVENTS } from '../../protocol/events.js';
import { deviceFrameLimits } from '../../protocol/ingress-limits.js';
import { Decoder, Encoder, PacketType, type SocketIoPacket } from '../../protocol/parser.js';
import { parseOrThrow } from '../../protocol/schema-errors.js';
import { validateInbound } from '../../protocol/validate.js';
import { valid } from './fixtures.js';

const encoder = new Encoder();

/** What the coordinator does with one inbound frame: decode under a joined device's limits, then validate. */
function receive(event: string, payload: unknown): void {
  const decoder = new Decoder(deviceFrameLimits(1 << 20));
  let packet: SocketIoPacket | undefined;
  decoder.on('decoded', (p) => (packet = p));
  decoder.add(encoder.encode({ type: PacketType.EVENT, nsp: '/', data: [event, payload] })[0]);
  const [name, body] = packet!.data as [string, unknown];
  if (name === 'dash:subscribe') parseOrThrow(dashSubscribeSchema, body, name);
  else validateInbound(name, body);
}

function onlyProtocolErrors(fn: () => void): void {
  try {
    fn();
  } catch (err: unknown) {
    if (!(err instanceof ProtocolError)) throw err;
  }
}

/** A valid payload with one field replaced, removed or added, or nested one level down. */
function mutated(base: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(base);
  return fc.oneof(
    fc.tuple(fc.constantFrom(...keys), fc.anything({ withTypedArray: true, maxDepth: 3 })).map(([k, v]) => ({ ...base, [k]: v })),
    fc.constantFrom(...keys).map((k) => Object.fromEntries(Object.entries(base).filter(([key]) => key !== k))),
    fc.tuple(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 2 })).map(([k, v]) => ({ ...base, [k]: v })),
    fc.tuple(fc.constantFrom(...keys), fc.constantFrom(...keys), fc.anything({ maxDepth: 2 })).map(([k, inner, v]) => {
      const field = base[k];
      return typeof field === 'object' && field !== null && !ArrayBuffer.isView(field) ? { ...base, [k]: { ...field, [inner]: v } } : { ...base, [k]: v };
    }),
  );
}

describe('every inbound schema under fuzzing', () => {
  const events = [...DEVICE_TO_SERVER_EVENTS, 'dash:subscribe'] as const;
  const fixtures = valid as unknown as Record<string, () => Record<string, unknown>>;

  it('accepts each valid fixture through the parser and its schema', () => {
    for (const event of DEVICE_TO_SERVER_EVENTS) expect(() => receive(event, fixtures[event]!()), event).not.toThrow();
    expect(() => receive('dash:subscribe', {})).not.toThrow();
  });

  for (const event of events) {
    it(`refuses mutated and random ${event} payloads with ProtocolErrors only`, () => {
      const base = event === 'dash:subscribe' ? { x: 1 } : fixtures[event]!();
      fc.assert(
        fc.property(fc.oneof(mutated(base), fc.anything({ withTypedArray: true, maxDepth: 4 })), (payload) => onlyProtocolErrors(() => receive(event, payload))),
        { numRuns: 150 },
      );
    });
  }
});
