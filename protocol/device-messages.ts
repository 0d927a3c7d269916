import { z } from 'zod';
import { peerListenSchema } from './peer-messages.js';
import { counterSchema, deviceIdSchema } from './schema-common.js';

/** device -> server, first message after connecting; answered by `device:welcome` or `error`. */
export const deviceJoinSchema = z.strictObject({
  protocolVersion: z.int().min(0),
  /** Shared secret the coordinator was started with; '' when it runs without one. */
  token: z.string().max(4096),
  name: z.string().min(1).max(128),
  kind: z.enum(['node', 'browser']),
  /** tfjs backend in use, e.g. 'tensorflow', 'wasm', 'webgpu', 'cpu'. */
  backend: z.string().min(1).max(64),
  memoryBytes: counterSchema,
  speedGflops: z.number().min(0),
  userAgent: z.string().max(1024).optional(),
  /** A GPU backend's adapter: vendor, architecture, description (e.g. 'nvidia hopper NVIDIA H100'). */
  adapter: z.string().min(1).max(256).optional(),
  /** A Node device started with --listen: where it takes stage inputs from other devices (docs/runtime.md, direct plane). */
  peer: peerListenSchema.optional(),
});
export type DeviceJoin = z.infer<typeof deviceJoinSchema>;

/** server -> device: the join was accepted. */
export const deviceWelcomeSchema = z.strictObject({
  deviceId: deviceIdSchema,
  protocolVersion: z.int().min(0),
  /** The device sends `device:heartbeat` at this period; silence for 3 periods counts as gone. */
  heartbeatMs: z.int().min(1),
});
export type DeviceWelcome = z.infer<typeof deviceWelcomeSchema>;

/** device -> server, every `heartbeatMs`. */
export const deviceHeartbeatSchema = z.strictObject({
  /** Sender's clock, ms since the Unix epoch. */
  sentAt: z.number().min(0),
});
export type DeviceHeartbeat = z.infer<typeof deviceHeartbeatSchema>;

/** Largest probe payload a device must accept (the bandwidth probe sends ~256 KiB). */
export const MAX_PROBE_BYTES = 1 << 20;

/** server -> device: echo request used to measure RTT (empty payload) and bandwidth (~256 KiB). */
export const netProbeSchema = z.strictObject({
  probeId: counterSchema,
  payload: z.instanceof(Uint8Array).refine((b) => b.byteLength <= MAX_PROBE_BYTES, `payload must be at most ${MAX_PROBE_BYTES} bytes`),
});
export type NetProbe = z.infer<typeof netProbeSchema>;

/** device -> server, sent as soon as the whole probe arrived. */
export const netProbeAckSchema = z.strictObject({
  probeId: counterSchema,
  receivedBytes: counterSchema,
});
export type NetProbeAck = z.infer<typeof netProbeAckSchema>;
