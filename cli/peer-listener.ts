import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import type { PeerGrant, PeerInbound } from '../client/device-types.js';
import {
  INGRESS_LIMITS,
  PEER_EVENTS,
  PROTOCOL_VERSION,
  ProtocolError,
  checkPayloadSize,
  isProtocolError,
  parserWithLimits,
  validateFromPeer,
  type PeerHello,
  type PeerListen,
} from '../protocol/index.js';
import { tokensMatch } from '../server/common/token.js';
import { IngressGuard } from '../server/devices/ingress.guard.js';

/** Largest frame a peer may send; the coordinator's default max message size. */
const MAX_PEER_MESSAGE_BYTES = 64 * 1024 * 1024;

interface Session {
  hello: PeerHello;
  /** The grant a data session was accepted under; a new grant ends it. */
  grant: PeerGrant | null;
}

export interface PeerListenerOptions {
  /** Address to bind, e.g. 127.0.0.1 or 0.0.0.0. */
  host: string;
  /** 0: any free port (the bound one is advertised). */
  port: number;
  /** host:port other devices dial (NAT); default the bound address. */
  advertise?: string;
  log?: (message: string) => void;
}

/**
 * The Node-only half of the direct data plane: a Socket.IO server on the
 * device with the coordinator's parser and ingress limits (frame caps before
 * decoding, rates, a hello window). A peer must say `peer:hello` first: a
 * data peer with the cut token, job, stage and device id of the current
 * grant, a probe peer with this listener's probe token. Anything else is
 * answered with `error` {code, message} and closed; the job goes on.
 */
export class PeerListener implements PeerInbound {
  private current: PeerGrant | null = null;
  private readonly sessions = new Map<Socket, Session>();
  private readonly guard = new IngressGuard(MAX_PEER_MESSAGE_BYTES, INGRESS_LIMITS.joinWindowMs);
  readonly listen: PeerListen;

  private constructor(
    private readonly http: HttpServer,
    private readonly io: Server,
    address: string,
    private readonly probeToken: string,
    private readonly log: (message: string) => void,
  ) {
    this.listen = { address, probeToken };
  }

  static async start(opts: PeerListenerOptions): Promise<PeerListener> {
    const http = createServer();
    const io = new Server(http, {
      parser: parserWithLimits(INGRESS_LIMITS.preJoin),
      transports: ['websocket'],
      perMessageDeflate: false,
      maxHttpBufferSize: MAX_PEER_MESSAGE_BYTES,
      serveClient: false,
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(opts.port, opts.host, () => resolve());
    });
    const bound = http.address() as AddressInfo;
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    const listener = new PeerListener(http, io, opts.advertise ?? `${host}:${bound.port}`, randomBytes(24).toString('hex'), opts.log ?? (() => {}));
    io.on('connection', (socket) => listener.connection(socket));
    return listener;
  }

  /** The port the listener is bound to. */
  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  grant(grant: PeerGrant | null): void {
    this.current = grant;
    // A data link of an older grant must not deliver into the new stage.
    for (const [socket, s] of this.sessions) {
      if (s.hello.purpose !== 'data' || s.grant === grant) continue;
      // Not a refusal of anything the peer sent: the stage ended here (released, replaced), so is the link.
      socket.emit(PEER_EVENTS.error, { code: 'not-assigned', message: 'this device no longer holds the stage this link was opened for', event: PEER_EVENTS.input });
      socket.disconnect(true);
    }
  }

  async close(): Promise<void> {
    this.current = null;
    await new Promise<void>((resolve) => void this.io.close(() => resolve()));
  }

  private connection(socket: Socket): void {
    socket.on('error', (err: unknown) => this.refuse(socket, err, 'frame', undefined, true));
    const detach = this.guard.attach(socket, () => this.sessions.has(socket), (err) => this.refuse(socket, err, PEER_EVENTS.hello, undefined, true));
    socket.on('disconnect', () => {
      detach();
      this.sessions.delete(socket);
    });
    // Synchronous, as the coordinator's gateway: inputs just before a close still count.
    socket.onAny((event: unknown, payload: unknown) => this.route(socket, event, payload));
  }

  private route(socket: Socket, event: unknown, payload: unknown): void {
    try {
      switch (event) {
        case PEER_EVENTS.hello:
          return this.hello(socket, validateFromPeer(PEER_EVENTS.hello, payload));
        case PEER_EVENTS.probe: {
          this.session(socket, 'probe', PEER_EVENTS.probe);
          const probe = validateFromPeer(PEER_EVENTS.probe, payload);
          socket.emit(PEER_EVENTS.probeAck, { probeId: probe.probeId, receivedBytes: probe.payload.byteLength });
          return;
        }
        case PEER_EVENTS.input:
          return this.input(socket, payload);
        default:
          throw new ProtocolError('unknown-event', `unknown peer event ${JSON.stringify(event)}; a peer sends peer:hello, then peer:input or peer:probe`);
      }
    } catch (err: unknown) {
      // A refused hello closes the link; a refused input or probe is answered and the link kept.
      this.refuse(socket, err, String(event), payload, event === PEER_EVENTS.hello);
    }
  }

  private hello(socket: Socket, hello: PeerHello): void {
    if (this.sessions.has(socket)) throw new ProtocolError('bad-schema', 'peer:hello: this link said hello already');
    if (hello.protocolVersion !== PROTOCOL_VERSION) throw new ProtocolError('version', `peer:hello: protocol version ${hello.protocolVersion}; this device speaks ${PROTOCOL_VERSION}`);
    if (hello.purpose === 'probe') {
      if (!tokensMatch(hello.token, this.probeToken)) throw new ProtocolError('bad-token', 'peer:hello: wrong probe token; probe tokens come from the coordinator (net:peer-probe)');
      this.sessions.set(socket, { hello, grant: null });
      // Past the hello the peer is trusted as a joined device is: the frame limits of the coordinator's devices.
      this.guard.trust(socket);
    } else {
      const g = this.current;
      if (!g || hello.jobId !== g.jobId || hello.stage !== g.stage) {
        const held = g ? `it holds job ${g.jobId} stage ${g.stage}` : 'it holds no stage that takes direct inputs';
        throw new ProtocolError('not-assigned', `peer:hello: job ${hello.jobId} stage ${hello.stage} is not assigned to this device (${held})`);
      }
      if (hello.fromDeviceId !== g.prev.deviceId) throw new ProtocolError('not-assigned', `peer:hello: stage ${g.stage} takes inputs from device ${g.prev.deviceId}, not ${hello.fromDeviceId}`);
      if (!tokensMatch(hello.token, g.prev.token)) throw new ProtocolError('bad-token', `peer:hello: wrong or missing cut token for job ${g.jobId} stage ${g.stage}; it comes with stage:assign.next`);
      this.sessions.set(socket, { hello, grant: g });
      this.guard.trust(socket);
    }
    socket.emit(PEER_EVENTS.welcome, { purpose: hello.purpose });
  }

  private input(socket: Socket, payload: unknown): void {
    const s = this.session(socket, 'data', PEER_EVENTS.input);
    const g = s.grant!;
    const bytes = checkPayloadSize(PEER_EVENTS.input, payload, g.prev.maxFrameBytes);
    const msg = validateFromPeer(PEER_EVENTS.input, payload);
    if (msg.jobId !== g.jobId || msg.stage !== g.stage) {
      throw new ProtocolError('not-assigned', `peer:input for batch ${msg.batchId}: addressed to job ${msg.jobId} stage ${msg.stage}, but this link carries job ${g.jobId} stage ${g.stage}`);
    }
    g.accept(msg, bytes);
  }

  private session(socket: Socket, purpose: PeerHello['purpose'], event: string): Session {
    const s = this.sessions.get(socket);
    if (!s || s.hello.purpose !== purpose) throw new ProtocolError('not-assigned', `${event}: send peer:hello (purpose ${purpose}) with the coordinator's token first`);
    if (purpose === 'data' && s.grant !== this.current) throw new ProtocolError('not-assigned', `${event}: this device no longer holds the stage this link was opened for`);
    return s;
  }

  private refuse(socket: Socket, err: unknown, event: string, payload: unknown, close: boolean): void {
    const code = isProtocolError(err) ? err.code : 'internal';
    const message = err instanceof Error ? err.message : String(err);
    const batchId = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>)['batchId'] : undefined;
    if (socket.connected) socket.emit(PEER_EVENTS.error, { code, message, event, ...(typeof batchId === 'number' && Number.isSafeInteger(batchId) && batchId >= 0 ? { batchId } : {}) });
    this.log(`peer link from ${socket.handshake.address}: refused ${event} (${code}): ${message}`);
    if (close) socket.disconnect(true);
  }
}
