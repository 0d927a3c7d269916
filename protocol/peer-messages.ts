import { z } from 'zod';
import { counterSchema, deviceIdSchema, jobIdSchema, stageIndexSchema } from './schema-common.js';

/*
 * The stage-to-stage data plane (docs/runtime.md, direct plane): a Node
 * device started with `--listen` accepts its predecessor's outputs itself.
 * The coordinator issues the tokens, names the peers and stays in charge of
 * credits: the receiver reports each arrival (`stage:arrived`).
 */

/** "host:port" (IPv6 hosts in brackets), where a device's peer listener is reached. */
export const peerAddressSchema = z
  .string()
  .min(3)
  .max(300)
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 10.0.0.2:4100 or [::1]:4100');
const secretSchema = z.string().min(16).max(256);

/** device:join.peer: this device listens for stage inputs from other devices. */
export const peerListenSchema = z.strictObject({
  /** Where other devices reach the listener (`--advertise`, else the bound address). */
  address: peerAddressSchema,
  /** The device's own secret for link probes; the coordinator hands it only to devices it asks to probe. */
  probeToken: secretSchema,
});
export type PeerListen = z.infer<typeof peerListenSchema>;

/** stage:assign.next: send outputs straight to the successor stage's device. */
export const peerNextSchema = z.strictObject({
  deviceId: deviceIdSchema,
  address: peerAddressSchema,
  /** Per job and cut, issued by the coordinator; the successor holds the same one. */
  token: secretSchema,
});
export type PeerNext = z.infer<typeof peerNextSchema>;

/** stage:assign.prev: accept inputs from the predecessor's device, with this token only. */
export const peerPrevSchema = z.strictObject({
  deviceId: deviceIdSchema,
  token: secretSchema,
  /** Largest total tensor bytes one input from it may carry (its stage:assign.maxFrameBytes). */
  maxFrameBytes: z.int().min(1),
});
export type PeerPrev = z.infer<typeof peerPrevSchema>;

/** sender -> listener, first message on a peer connection; answered by `peer:welcome` or `error`. */
export const peerHelloSchema = z
  .strictObject({
    protocolVersion: z.int().min(0),
    /** data: stage inputs follow; probe: only `peer:probe` echoes follow. */
    purpose: z.enum(['data', 'probe']),
    /** The sender's coordinator-given device id. */
    fromDeviceId: deviceIdSchema,
    /** data: the cut token from stage:assign.next; probe: the listener's probe token from net:peer-probe. */
    token: z.string().max(256),
    /** data only: the job and the receiving stage. */
    jobId: jobIdSchema.optional(),
    stage: stageIndexSchema.optional(),
  })
  .superRefine((m, ctx) => {
    if (m.purpose === 'data' && (m.jobId === undefined || m.stage === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['stage'], message: 'missing: a data hello names the job and the receiving stage' });
    }
  });
export type PeerHello = z.infer<typeof peerHelloSchema>;

/** listener -> sender: the hello was accepted. */
export const peerWelcomeSchema = z.strictObject({ purpose: z.enum(['data', 'probe']) });
export type PeerWelcome = z.infer<typeof peerWelcomeSchema>;

/** device -> server: the receiving stage got batch `batchId` straight from its predecessor. */
export const stageArrivedSchema = z.strictObject({
  jobId: jobIdSchema,
  /** The receiving stage. */
  stage: stageIndexSchema,
  batchId: counterSchema,
  /** Tensor bytes the input carried. */
  bytes: counterSchema,
});
export type StageArrived = z.infer<typeof stageArrivedSchema>;

/** device -> server: stage `stage` cannot reach its successor and sends its outputs through the coordinator from now on. */
export const stageRelayFallbackSchema = z.strictObject({
  jobId: jobIdSchema,
  stage: stageIndexSchema,
  reason: z.string().max(1024),
});
export type StageRelayFallback = z.infer<typeof stageRelayFallbackSchema>;

/** server -> device: measure the link to another device's listener (RTT, then bandwidth). */
export const netPeerProbeSchema = z.strictObject({
  probeId: counterSchema,
  targetDeviceId: deviceIdSchema,
  address: peerAddressSchema,
  token: secretSchema,
});
export type NetPeerProbe = z.infer<typeof netPeerProbeSchema>;

/** device -> server: what the peer probe measured; nulls (and `error`) when the target could not be reached. */
export const netPeerProbeResultSchema = z.strictObject({
  probeId: counterSchema,
  targetDeviceId: deviceIdSchema,
  rttMs: z.number().min(0).nullable(),
  bandwidthBytesPerSec: z.number().min(0).nullable(),
  error: z.string().max(1024).optional(),
});
export type NetPeerProbeResult = z.infer<typeof netPeerProbeResultSchema>;
