import { randomBytes } from 'node:crypto';
import type { CutView } from '../../protocol/index.js';

/** What a job knows of a device for its data plane (RunnerDeps.peerOf). */
export interface PeerInfo {
  kind: 'node' | 'browser';
  /** Where its peer listener is reached; null without `--listen`. */
  address: string | null;
}

/**
 * The cut between stage `from` and `from + 1`: whether outputs go straight
 * to the successor's device (direct) or through the coordinator (relayed),
 * the token the coordinator issued for it, and the bytes that crossed it.
 */
export class CutState {
  bytes = 0;

  constructor(
    readonly from: number,
    public mode: 'direct' | 'relayed',
    /** Why the cut relays; null for a direct one. */
    public reason: string | null,
    /** Per job and cut; both ends of a direct cut hold it (stage:assign next/prev). */
    public token: string,
  ) {}

  /** The cut goes through the coordinator from now on; the first reason is kept. */
  relay(reason: string): void {
    if (this.mode === 'relayed') return;
    this.mode = 'relayed';
    this.reason = reason;
  }

  view(): CutView {
    return { fromStage: this.from, toStage: this.from + 1, mode: this.mode, bytes: this.bytes, reason: this.reason };
  }
}

/** Direct when the successor's device listens and the predecessor's is a Node device (a browser cannot dial it). */
export function planCut(from: number, sender: PeerInfo, receiver: PeerInfo, receiverId: string): CutState {
  const token = randomBytes(24).toString('hex');
  if (receiver.address === null) return new CutState(from, 'relayed', `device ${receiverId} takes no direct inputs (started without --listen)`, token);
  if (sender.kind !== 'node') return new CutState(from, 'relayed', `stage ${from} runs in a browser, which relays through the coordinator`, token);
  return new CutState(from, 'direct', null, token);
}

/** A cut that relays from the start, for `reason`. */
export function relayedCut(from: number, reason: string): CutState {
  return new CutState(from, 'relayed', reason, randomBytes(24).toString('hex'));
}
