import type { FrameLimits } from './msgpack-scan.js';

/**
 * What the coordinator accepts from a peer before and after it has joined
 * (docs/runtime.md, Limits). Until `device:join` is accepted a connection
 * may only send small control frames; a joined device may send frames up to
 * the coordinator's max message size, but never more values or nesting than
 * the protocol's largest message needs.
 */
export const INGRESS_LIMITS = {
  /** Frames of a connection that has not joined (the join, a dashboard's subscribe). */
  preJoin: { frameBytes: 64 * 1024, elements: 256, depth: 8, stringBytes: 8 * 1024, binBytes: 0 } satisfies FrameLimits,
  /**
   * Values and nesting of a joined device's frame: a stage:output with a
   * 64-entry history is ~1,500 values at depth 6, a stage:metrics of 64
   * modules ~700.
   */
  deviceElements: 16_384,
  deviceDepth: 16,
  deviceStringBytes: 64 * 1024,
  /** A connection that has neither joined nor subscribed within this is closed. */
  joinWindowMs: 5000,
  /** Token buckets (the burst is one second's worth, at least one max-size message). */
  connectionMessagesPerSec: 1000,
  connectionBytesPerSec: 512 * 1024 * 1024,
  addressMessagesPerSec: 5000,
  addressBytesPerSec: 2 * 1024 * 1024 * 1024,
} as const;

/** A joined device's frame limits under a coordinator whose largest message is `maxMessageBytes`. */
export function deviceFrameLimits(maxMessageBytes: number): FrameLimits {
  return {
    frameBytes: maxMessageBytes,
    elements: INGRESS_LIMITS.deviceElements,
    depth: INGRESS_LIMITS.deviceDepth,
    stringBytes: INGRESS_LIMITS.deviceStringBytes,
    binBytes: maxMessageBytes,
  };
}
