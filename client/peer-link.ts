import { io, type Socket } from 'socket.io-client';
import type { ErrorMessage } from '../protocol/control-messages.js';
import type { StageInput, StageOutput } from '../protocol/data-messages.js';
import { PEER_EVENTS } from '../protocol/events.js';
import { parser } from '../protocol/parser.js';
import type { PeerHello, PeerNext } from '../protocol/peer-messages.js';
import { validateFromListener } from '../protocol/validate.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';

/**
 * How long a sender waits for its successor's listener to welcome it before
 * it falls back to the relay. Generous: a Node device's step blocks its event
 * loop, so a listener inside a long step answers late.
 */
export const PEER_CONNECT_TIMEOUT_MS = 10_000;
/** The link probe's bandwidth payload, as the coordinator's own probe. */
export const PEER_PROBE_BYTES = 256 * 1024;

/** Loose view of a socket.io-client socket for protocol event names (typed maps are per direction). */
interface LooseSocket {
  on(event: string, fn: (payload: unknown) => void): void;
  once(event: string, fn: (payload: unknown) => void): void;
  emit(event: string, payload: unknown): void;
  disconnect(): void;
  readonly connected: boolean;
}

function url(address: string): string {
  return `http://${address}`;
}

/**
 * Opens a peer connection and sends `peer:hello`; resolves once welcomed,
 * rejects with the listener's reason (an `error` with a code), a connect
 * failure or after `timeoutMs`. The socket never reconnects by itself: a
 * link that broke means the cut goes through the coordinator.
 */
export function openPeer(address: string, hello: PeerHello, timeoutMs: number): Promise<LooseSocket> {
  const socket = io(url(address), { transports: ['websocket'], parser, forceNew: true, reconnection: false, timeout: timeoutMs }) as unknown as LooseSocket & Socket;
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      socket.disconnect();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail(`no welcome from ${address} within ${timeoutMs} ms`), timeoutMs);
    socket.on('connect_error', (err) => fail(`cannot connect to ${address}: ${(err as unknown as Error).message}`));
    socket.once(PEER_EVENTS.error, (payload) => {
      const e = payload as ErrorMessage;
      fail(`${address} refused the link (${e.code}): ${e.message}`);
    });
    socket.once(PEER_EVENTS.welcome, (payload) => {
      try {
        validateFromListener(PEER_EVENTS.welcome, payload);
      } catch (err: unknown) {
        fail(`${address} answered an invalid welcome: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      clearTimeout(timer);
      resolve(socket);
    });
    socket.on('connect', () => socket.emit(PEER_EVENTS.hello, hello));
  });
}

/** The input the successor gets for an output: exactly what the coordinator's relay would build (server/pipeline/flow-control.ts). */
export function nextStageInput(out: StageOutput, input: StageInput): StageInput {
  const next: StageInput = { jobId: out.jobId, stage: out.stage + 1, batchId: out.batchId, epoch: input.epoch, step: input.step, phase: input.phase, labels: out.labels };
  if (out.h) next.h = out.h;
  if (out.image) next.image = out.image;
  if (out.history && out.history.length > 0) next.history = out.history;
  if (input.lr !== undefined) next.lr = input.lr;
  if (input.checkpointAfter) next.checkpointAfter = true;
  return next;
}

/**
 * One stage's outbound link to its successor's device (stage:assign.next).
 * Connects on the first `ready()`, i.e. with the first output, when every
 * stage is built (a successor still building its stage could not answer in
 * time); `ready()` says whether outputs can go direct. Once the link failed (refused, unreachable, broken) it stays
 * failed and `reason` says why: the stage relays through the coordinator.
 */
export class PeerLink {
  private socket: LooseSocket | null = null;
  private failure: string | null = null;
  private closed = false;
  private opened: Promise<boolean> | null = null;

  constructor(
    readonly next: PeerNext,
    private readonly hello: PeerHello,
    private readonly onRefused: (err: ErrorMessage) => void,
    private readonly timeoutMs = PEER_CONNECT_TIMEOUT_MS,
  ) {}

  private open(): Promise<boolean> {
    const next = this.next;
    return openPeer(next.address, this.hello, this.timeoutMs).then(
      (socket) => {
        if (this.closed) {
          socket.disconnect();
          return false;
        }
        this.socket = socket;
        socket.on('disconnect', (why) => this.fail(`the link to ${next.address} broke (${String(why)})`));
        // A refusal of one input (shapes, size) is the successor's answer to this stage; the link stays.
        socket.on(PEER_EVENTS.error, (payload) => this.onRefused(payload as ErrorMessage));
        return true;
      },
      (err: unknown) => {
        this.fail(err instanceof Error ? err.message : String(err));
        return false;
      },
    );
  }

  /** Why outputs cannot go direct; null while they can (or the link is still opening). */
  get reason(): string | null {
    return this.failure;
  }

  /** Resolves true when outputs can go direct now (waits for the connection the first time). */
  async ready(): Promise<boolean> {
    if (this.closed) return false;
    this.opened ??= this.open();
    const ok = await this.opened;
    return ok && this.failure === null && this.socket !== null && this.socket.connected;
  }

  /** Sends one input to the successor; the caller checked ready(). */
  send(input: StageInput): void {
    this.socket?.emit(PEER_EVENTS.input, input);
  }

  close(): void {
    this.closed = true;
    this.failure ??= 'link closed';
    this.socket?.disconnect();
    this.socket = null;
  }

  private fail(why: string): void {
    if (this.failure === null && !this.closed) this.failure = why;
  }
}

export interface PeerProbeMeasure {
  rttMs: number;
  bandwidthBytesPerSec: number;
}

/**
 * Measures the link to a device's listener as the coordinator measures its
 * own (an empty echo for RTT, then 256 KiB for bandwidth). Rejects when the
 * listener cannot be reached or refuses the probe token.
 */
export async function probePeer(address: string, token: string, fromDeviceId: string, timeoutMs = PEER_CONNECT_TIMEOUT_MS): Promise<PeerProbeMeasure> {
  const socket = await openPeer(address, { protocolVersion: PROTOCOL_VERSION, purpose: 'probe', fromDeviceId, token }, timeoutMs);
  try {
    const echo = (probeId: number, bytes: number): Promise<number> =>
      new Promise((resolve, reject) => {
        const start = performance.now();
        const timer = setTimeout(() => reject(new Error(`probe ${probeId} to ${address}: no answer within ${timeoutMs} ms`)), timeoutMs);
        socket.once(PEER_EVENTS.probeAck, () => {
          clearTimeout(timer);
          resolve(performance.now() - start);
        });
        socket.emit(PEER_EVENTS.probe, { probeId, payload: new Uint8Array(bytes) });
      });
    // The first echo also warms the connection; RTT is the best of three.
    const rtts = [await echo(1, 0), await echo(2, 0), await echo(3, 0)];
    const rttMs = Math.min(...rtts);
    const elapsed = await echo(4, PEER_PROBE_BYTES);
    // Floor the transfer time as the coordinator does, so loopback stays finite.
    return { rttMs, bandwidthBytesPerSec: (PEER_PROBE_BYTES / Math.max(elapsed - rttMs, 0.05)) * 1000 };
  } finally {
    socket.disconnect();
  }
}
