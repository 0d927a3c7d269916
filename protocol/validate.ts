import type { z } from 'zod';
import { errorMessageSchema, jobStopSchema } from './control-messages.js';
import { stageDoneSchema, stageInputSchema, stageOutputSchema } from './data-messages.js';
import { deviceHeartbeatSchema, deviceJoinSchema, deviceWelcomeSchema, netProbeAckSchema, netProbeSchema } from './device-messages.js';
import { ProtocolError } from './errors.js';
import type { DeviceToServerEvent, DeviceToServerPayloads, ListenerToPeerPayloads, PeerToListenerEvent, PeerToListenerPayloads, ServerToDeviceEvent, ServerToDevicePayloads } from './events.js';
import { stageCheckpointSchema, stageEvalSchema, stageMetricsSchema } from './metrics-messages.js';
import { parseOrThrow } from './schema-errors.js';
import { netPeerProbeResultSchema, netPeerProbeSchema, peerHelloSchema, peerWelcomeSchema, stageArrivedSchema, stageRelayFallbackSchema } from './peer-messages.js';
import { stageAssignSchema, stageReleaseSchema, stageReadySchema } from './stage-messages.js';

// Record<> makes the compiler insist on a schema for every event of the maps.
const deviceToServerSchemas: { [E in DeviceToServerEvent]: z.ZodType<DeviceToServerPayloads[E]> } = {
  'device:join': deviceJoinSchema,
  'device:heartbeat': deviceHeartbeatSchema,
  'net:probe-ack': netProbeAckSchema,
  'stage:ready': stageReadySchema,
  'stage:output': stageOutputSchema,
  'stage:done': stageDoneSchema,
  'stage:metrics': stageMetricsSchema,
  'stage:eval': stageEvalSchema,
  'stage:checkpoint': stageCheckpointSchema,
  'stage:arrived': stageArrivedSchema,
  'stage:relay-fallback': stageRelayFallbackSchema,
  'net:peer-probe-result': netPeerProbeResultSchema,
};

const serverToDeviceSchemas: { [E in ServerToDeviceEvent]: z.ZodType<ServerToDevicePayloads[E]> } = {
  'device:welcome': deviceWelcomeSchema,
  'net:probe': netProbeSchema,
  'stage:assign': stageAssignSchema,
  'stage:release': stageReleaseSchema,
  'stage:input': stageInputSchema,
  'job:stop': jobStopSchema,
  'net:peer-probe': netPeerProbeSchema,
  error: errorMessageSchema,
};

const peerToListenerSchemas: { [E in PeerToListenerEvent]: z.ZodType<PeerToListenerPayloads[E]> } = {
  'peer:hello': peerHelloSchema,
  'peer:input': stageInputSchema,
  'peer:probe': netProbeSchema,
};

const listenerToPeerSchemas: { [E in keyof ListenerToPeerPayloads]: z.ZodType<ListenerToPeerPayloads[E]> } = {
  'peer:welcome': peerWelcomeSchema,
  'peer:probe-ack': netProbeAckSchema,
  error: errorMessageSchema,
};

function hasOwn<T extends object>(table: T, key: string): key is Extract<keyof T, string> {
  return Object.prototype.hasOwnProperty.call(table, key);
}

/** "stage:output for batch 17" when the payload names its batch, to point at the culprit. */
function describeMessage(event: string, payload: unknown): string {
  if (typeof payload === 'object' && payload !== null) {
    const batchId = (payload as Record<string, unknown>)['batchId'];
    if (typeof batchId === 'number') return `${event} for batch ${batchId}`;
  }
  return event;
}

function validateWith<T extends object>(table: T, direction: string, event: string, payload: unknown): unknown {
  if (!hasOwn(table, event)) {
    throw new ProtocolError('unknown-event', `unknown ${direction} event ${JSON.stringify(event)}; known events: ${Object.keys(table).join(', ')}`);
  }
  return parseOrThrow(table[event] as z.ZodType, payload, describeMessage(event, payload));
}

/**
 * Server side: checks one device -> server message and returns it typed.
 * Throws ProtocolError: 'unknown-event' for an event outside the protocol,
 * 'bad-schema' naming every bad field otherwise. Never coerces.
 */
export function validateInbound<E extends DeviceToServerEvent>(event: E, payload: unknown): DeviceToServerPayloads[E];
export function validateInbound(event: string, payload: unknown): DeviceToServerPayloads[DeviceToServerEvent];
export function validateInbound(event: string, payload: unknown): unknown {
  return validateWith(deviceToServerSchemas, 'device-to-server', event, payload);
}

/** Device side: the same for server -> device messages. */
export function validateFromServer<E extends ServerToDeviceEvent>(event: E, payload: unknown): ServerToDevicePayloads[E];
export function validateFromServer(event: string, payload: unknown): ServerToDevicePayloads[ServerToDeviceEvent];
export function validateFromServer(event: string, payload: unknown): unknown {
  return validateWith(serverToDeviceSchemas, 'server-to-device', event, payload);
}

/** A device's peer listener: checks one message from a sending device. */
export function validateFromPeer<E extends PeerToListenerEvent>(event: E, payload: unknown): PeerToListenerPayloads[E];
export function validateFromPeer(event: string, payload: unknown): PeerToListenerPayloads[PeerToListenerEvent];
export function validateFromPeer(event: string, payload: unknown): unknown {
  return validateWith(peerToListenerSchemas, 'peer-to-listener', event, payload);
}

/** A sending device: checks one message from the listener it sends to. */
export function validateFromListener<E extends keyof ListenerToPeerPayloads>(event: E, payload: unknown): ListenerToPeerPayloads[E];
export function validateFromListener(event: string, payload: unknown): unknown {
  return validateWith(listenerToPeerSchemas, 'listener-to-peer', event, payload);
}

// Bounds the walk so a hostile, deeply nested payload costs little.
const MAX_WALK_DEPTH = 32;

/**
 * Bytes a payload carries in binary and string values (what dominates its
 * msgpack size; numbers and keys are ignored).
 */
export function payloadByteSize(payload: unknown, depth = 0): number {
  if (payload instanceof Uint8Array || ArrayBuffer.isView(payload)) return payload.byteLength;
  if (payload instanceof ArrayBuffer) return payload.byteLength;
  if (typeof payload === 'string') return payload.length;
  if (typeof payload !== 'object' || payload === null || depth >= MAX_WALK_DEPTH) return 0;
  let total = 0;
  for (const value of Array.isArray(payload) ? payload : Object.values(payload)) total += payloadByteSize(value, depth + 1);
  return total;
}

/**
 * Size guard: throws ProtocolError('too-large') when `payload` carries more
 * than `maxBytes` (e.g. a stage:output above stage:assign's maxFrameBytes);
 * returns the size otherwise.
 */
export function checkPayloadSize(event: string, payload: unknown, maxBytes: number): number {
  const size = payloadByteSize(payload);
  if (size > maxBytes) {
    throw new ProtocolError(
      'too-large',
      `${describeMessage(event, payload)} carries ${size} bytes, above the limit of ${maxBytes}; use a smaller batchSize or wire float16/int8`,
    );
  }
  return size;
}
