import type { ErrorMessage, JobStop } from './control-messages.js';
import type { DeviceHeartbeat, DeviceJoin, DeviceWelcome, NetProbe, NetProbeAck } from './device-messages.js';
import type { StageDone, StageInput, StageOutput } from './data-messages.js';
import type { StageCheckpoint, StageEval, StageMetrics } from './metrics-messages.js';
import type { NetPeerProbe, NetPeerProbeResult, PeerHello, PeerWelcome, StageArrived, StageRelayFallback } from './peer-messages.js';
import type { StageAssign, StageReady, StageRelease } from './stage-messages.js';

/** Every Socket.IO event name of the protocol; use these, never string literals. */
export const EVENTS = {
  deviceJoin: 'device:join',
  deviceWelcome: 'device:welcome',
  deviceHeartbeat: 'device:heartbeat',
  netProbe: 'net:probe',
  netProbeAck: 'net:probe-ack',
  stageAssign: 'stage:assign',
  stageReady: 'stage:ready',
  stageRelease: 'stage:release',
  stageInput: 'stage:input',
  stageOutput: 'stage:output',
  stageDone: 'stage:done',
  stageMetrics: 'stage:metrics',
  stageEval: 'stage:eval',
  stageCheckpoint: 'stage:checkpoint',
  jobStop: 'job:stop',
  stageArrived: 'stage:arrived',
  stageRelayFallback: 'stage:relay-fallback',
  netPeerProbe: 'net:peer-probe',
  netPeerProbeResult: 'net:peer-probe-result',
  error: 'error',
} as const;

/** Events between two devices on the direct data plane (a device's peer listener). */
export const PEER_EVENTS = {
  hello: 'peer:hello',
  welcome: 'peer:welcome',
  input: 'peer:input',
  probe: 'peer:probe',
  probeAck: 'peer:probe-ack',
  error: 'error',
} as const;

/** sender -> listener payloads. */
export interface PeerToListenerPayloads {
  'peer:hello': PeerHello;
  'peer:input': StageInput;
  'peer:probe': NetProbe;
}

/** listener -> sender payloads. */
export interface ListenerToPeerPayloads {
  'peer:welcome': PeerWelcome;
  'peer:probe-ack': NetProbeAck;
  error: ErrorMessage;
}
export type PeerToListenerEvent = keyof PeerToListenerPayloads;

/** Payload type of each device -> server event (one argument, no acks). */
export interface DeviceToServerPayloads {
  'device:join': DeviceJoin;
  'device:heartbeat': DeviceHeartbeat;
  'net:probe-ack': NetProbeAck;
  'stage:ready': StageReady;
  'stage:output': StageOutput;
  'stage:done': StageDone;
  'stage:metrics': StageMetrics;
  'stage:eval': StageEval;
  'stage:checkpoint': StageCheckpoint;
  'stage:arrived': StageArrived;
  'stage:relay-fallback': StageRelayFallback;
  'net:peer-probe-result': NetPeerProbeResult;
}

/** Payload type of each server -> device event (one argument, no acks). */
export interface ServerToDevicePayloads {
  'device:welcome': DeviceWelcome;
  'net:probe': NetProbe;
  'stage:assign': StageAssign;
  'stage:release': StageRelease;
  'stage:input': StageInput;
  'job:stop': JobStop;
  'net:peer-probe': NetPeerProbe;
  error: ErrorMessage;
}

export type DeviceToServerEvent = keyof DeviceToServerPayloads;
export type ServerToDeviceEvent = keyof ServerToDevicePayloads;

/** Socket.IO typed-events map: `new Server<DeviceToServerEvents, ServerToDeviceEvents>()`. */
export type DeviceToServerEvents = { [E in DeviceToServerEvent]: (msg: DeviceToServerPayloads[E]) => void };
/** Socket.IO typed-events map: `io() as Socket<ServerToDeviceEvents, DeviceToServerEvents>`. */
export type ServerToDeviceEvents = { [E in ServerToDeviceEvent]: (msg: ServerToDevicePayloads[E]) => void };

export const DEVICE_TO_SERVER_EVENTS = [
  EVENTS.deviceJoin,
  EVENTS.deviceHeartbeat,
  EVENTS.netProbeAck,
  EVENTS.stageReady,
  EVENTS.stageOutput,
  EVENTS.stageDone,
  EVENTS.stageMetrics,
  EVENTS.stageEval,
  EVENTS.stageCheckpoint,
  EVENTS.stageArrived,
  EVENTS.stageRelayFallback,
  EVENTS.netPeerProbeResult,
] as const satisfies readonly DeviceToServerEvent[];

export const SERVER_TO_DEVICE_EVENTS = [
  EVENTS.deviceWelcome,
  EVENTS.netProbe,
  EVENTS.stageAssign,
  EVENTS.stageRelease,
  EVENTS.stageInput,
  EVENTS.jobStop,
  EVENTS.netPeerProbe,
  EVENTS.error,
] as const satisfies readonly ServerToDeviceEvent[];
