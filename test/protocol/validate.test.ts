import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../protocol/errors.js';
import { DEVICE_TO_SERVER_EVENTS, EVENTS, SERVER_TO_DEVICE_EVENTS } from '../../protocol/events.js';
import * as protocol from '../../protocol/index.js';
import { checkPayloadSize, payloadByteSize, validateFromListener, validateFromPeer, validateFromServer, validateInbound } from '../../protocol/validate.js';
import { valid } from './fixtures.js';

describe('validateInbound / validateFromServer', () => {
  it('knows every event of its direction and nothing else', () => {
    for (const event of DEVICE_TO_SERVER_EVENTS) expect(() => validateInbound(event, valid[event]())).not.toThrow();
    for (const event of SERVER_TO_DEVICE_EVENTS) expect(() => validateFromServer(event, valid[event]())).not.toThrow();
    // Each event belongs to exactly one direction, and every constant is covered.
    expect([...DEVICE_TO_SERVER_EVENTS, ...SERVER_TO_DEVICE_EVENTS].sort()).toEqual(Object.values(EVENTS).sort());
    expect(Object.keys(valid).sort()).toEqual(Object.values(EVENTS).sort());
  });

  it('refuses an unknown event and lists the known ones', () => {
    let error: unknown;
    try {
      validateInbound('stage:outptu', {});
    } catch (err: unknown) {
      error = err;
    }
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe('unknown-event');
    expect((error as ProtocolError).message).toBe(
      'unknown device-to-server event "stage:outptu"; known events: device:join, device:heartbeat, net:probe-ack, stage:ready, stage:output, stage:done, stage:metrics, stage:eval, stage:checkpoint, stage:arrived, stage:relay-fallback, net:peer-probe-result',
    );
  });

  it('checks the direct plane\'s peer messages in both directions of a peer link', () => {
    const hello = { protocolVersion: 1, purpose: 'data', fromDeviceId: 'd-1', token: 't'.repeat(48), jobId: 'job-1', stage: 1 };
    expect(validateFromPeer('peer:hello', hello)).toEqual(hello);
    expect(() => validateFromPeer('peer:hello', { ...hello, stage: undefined })).toThrow(/a data hello names the job and the receiving stage/);
    expect(() => validateFromPeer('peer:input', { jobId: 'job-1', stage: 1 })).toThrow(ProtocolError);
    expect(() => validateFromPeer('stage:output', {})).toThrow(/unknown peer-to-listener event "stage:output"/);
    expect(validateFromListener('peer:welcome', { purpose: 'probe' })).toEqual({ purpose: 'probe' });
    expect(() => validateInbound('stage:assign', valid['stage:assign']())).toThrow(/unknown device-to-server/);
    expect(() => validateFromServer('net:peer-probe', { ...valid['net:peer-probe'](), address: 'no-port' })).toThrow(/must be host:port/);
  });

  it('refuses a server-to-device event arriving at the server', () => {
    expect(() => validateInbound('stage:input', valid['stage:input']())).toThrow(/unknown device-to-server event "stage:input"/);
    expect(() => validateInbound('__proto__', {})).toThrow(/unknown device-to-server event/);
    expect(() => validateInbound('toString', {})).toThrow(/unknown device-to-server event/);
  });

  it('marks schema failures with code bad-schema', () => {
    try {
      validateInbound(EVENTS.stageDone, {});
      expect.unreachable();
    } catch (err: unknown) {
      expect((err as ProtocolError).code).toBe('bad-schema');
    }
  });
});

describe('payload size guard', () => {
  it('counts binary and string bytes of nested payloads', () => {
    expect(payloadByteSize({ a: new Uint8Array(10), b: [new Float32Array(4), 'abc'], c: 5 })).toBe(10 + 16 + 3);
  });

  it('passes a payload at the limit and refuses one above it, naming event and batch', () => {
    const msg = valid['stage:output']();
    const size = payloadByteSize(msg);
    expect(checkPayloadSize('stage:output', msg, size)).toBe(size);
    let error: unknown;
    try {
      checkPayloadSize('stage:output', msg, size - 1);
    } catch (err: unknown) {
      error = err;
    }
    expect((error as ProtocolError).code).toBe('too-large');
    expect((error as ProtocolError).message).toMatch(/^stage:output for batch 17 carries \d+ bytes, above the limit of \d+; use a smaller batchSize or wire float16\/int8$/);
  });
});

describe('protocol index', () => {
  it('re-exports the public API', () => {
    for (const name of ['PROTOCOL_VERSION', 'ProtocolError', 'encodeFrame', 'decodeFrame', 'validateFrame', 'frameByteLength', 'parser', 'EVENTS', 'validateInbound', 'checkPayloadSize', 'parseJobSpec']) {
      expect(protocol, name).toHaveProperty(name);
    }
    expect(protocol.PROTOCOL_VERSION).toBe(1);
  });
});
