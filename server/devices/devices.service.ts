import { randomBytes } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import type { Socket } from 'socket.io';
import {
  EVENTS,
  PROTOCOL_VERSION,
  ProtocolError,
  type DeviceJoin,
  type DeviceToServerEvents,
  type DeviceView,
  type NetPeerProbeResult,
  type NetProbeAck,
  type PeerLinkView,
  type PeerListen,
  type ServerToDeviceEvent,
  type ServerToDevicePayloads,
  type ServerToDeviceEvents,
} from '../../protocol/index.js';
import { RefusalTally } from '../common/refusal-tally.js';
import { tokensMatch } from '../common/token.js';
import { COORDINATOR_CONFIG, MISSED_BEATS, type CoordinatorConfig } from '../config.js';
import { PipelineService } from '../pipeline/pipeline.service.js';
import { PeerLinks } from './peer-links.js';

export type DeviceSocket = Socket<DeviceToServerEvents, ServerToDeviceEvents>;

/** What happened to the pool of devices: one may take work now, or one is gone. */
export type DeviceEvent = { type: 'available' } | { type: 'lost'; deviceId: string };

/** The bandwidth probe's payload (runtime.md: 256 KiB). */
const BANDWIDTH_PROBE_BYTES = 256 * 1024;
const PROBE_TIMEOUT_MS = 3000;
/** Lost devices stay listed (status lost) up to this many. */
const KEEP_LOST = 100;

/**
 * Registry of joined devices: join (token + protocol version), network
 * probes, heartbeats, loss detection (3 missed beats or a disconnect).
 * `events$` tells when a device becomes available for work or is lost.
 */
@Injectable()
export class DevicesService implements OnModuleDestroy {
  private readonly devices = new Map<string, DeviceView>();
  private readonly sockets = new Map<string, DeviceSocket>();
  private readonly bySocket = new WeakMap<DeviceSocket, string>();
  private readonly probes = new Map<number, (ack: NetProbeAck) => void>();
  /** Listeners of devices started with --listen (their probe tokens stay here). */
  private readonly listeners = new Map<string, PeerListen>();
  private readonly links = new PeerLinks((id, probe) => this.send(id, EVENTS.netPeerProbe, probe));
  /** Devices whose network probes are still running; not offered to jobs yet. */
  private readonly probing = new Set<string>();
  private nextProbeId = 1;
  private readonly events = new Subject<DeviceEvent>();
  /** Synchronous: subscribers run inside the call that made the device available or lost it. */
  readonly events$: Observable<DeviceEvent> = this.events.asObservable();
  private readonly timer: NodeJS.Timeout;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    /** Tells heartbeat checks which devices are inside a step (see checkHeartbeats). */
    @Inject(PipelineService) private readonly pipeline: PipelineService,
    @Inject(RefusalTally) private readonly refusals: RefusalTally,
  ) {
    this.timer = setInterval(() => this.checkHeartbeats(), Math.max(50, config.heartbeatMs / 2));
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Accepts or refuses a `device:join`; refusals send `error` and close the socket. */
  join(socket: DeviceSocket, msg: DeviceJoin): void {
    const existing = this.bySocket.get(socket);
    if (existing !== undefined) throw new ProtocolError('bad-schema', `device:join: this connection joined already as ${existing}`);
    if (msg.protocolVersion !== PROTOCOL_VERSION) {
      this.refuse(socket, 'version', `device:join: protocol version ${msg.protocolVersion} is not supported; this coordinator speaks version ${PROTOCOL_VERSION}: update the device to a matching contsup`);
      return;
    }
    if (!tokensMatch(msg.token, this.config.joinToken)) {
      this.refuse(socket, 'bad-token', 'device:join: the join token is wrong: pass the join token `contsup coordinator` printed at start (contsup device --token <join token>)');
      return;
    }
    const id = `d-${randomBytes(4).toString('hex')}`;
    const now = Date.now();
    this.devices.set(id, {
      id,
      name: msg.name,
      kind: msg.kind,
      backend: msg.backend,
      memoryBytes: msg.memoryBytes,
      speedGflops: msg.speedGflops,
      userAgent: msg.userAgent ?? null,
      adapter: msg.adapter ?? null,
      rttMs: null,
      bandwidthBytesPerSec: null,
      peerAddress: msg.peer?.address ?? null,
      status: 'idle',
      joinedAt: now,
      lastSeen: now,
      jobId: null,
      stage: null,
    });
    this.sockets.set(id, socket);
    this.bySocket.set(socket, id);
    if (msg.peer) this.listeners.set(id, msg.peer);
    socket.emit(EVENTS.deviceWelcome, { deviceId: id, protocolVersion: PROTOCOL_VERSION, heartbeatMs: this.config.heartbeatMs });
    this.config.log(`device ${id} joined: ${msg.name} (${msg.kind}/${msg.backend}${msg.adapter !== undefined ? ` on ${msg.adapter}` : ''}, ${msg.speedGflops.toFixed(1)} GFLOP/s, ${(msg.memoryBytes / 2 ** 20).toFixed(0)} MiB)`);
    // Plans use the probed network; a device is offered to jobs once probing ends (or times out).
    void this.probe(id).finally(() => this.emitAvailable());
  }

  /** The device id of a joined socket; throws 'not-assigned' for a socket that has not joined. */
  requireDevice(socket: DeviceSocket, event: string): string {
    const id = this.bySocket.get(socket);
    if (id === undefined || this.devices.get(id)?.status === 'lost') {
      throw new ProtocolError('not-assigned', `${event}: this connection has not joined; send device:join with the join token first`);
    }
    return id;
  }

  /** Whether this connection joined as a device (and is not lost). */
  joined(socket: DeviceSocket): boolean {
    const id = this.bySocket.get(socket);
    return id !== undefined && this.devices.get(id)?.status !== 'lost';
  }

  /** Any message from a device shows it is alive. */
  touch(socket: DeviceSocket): void {
    const id = this.bySocket.get(socket);
    const d = id === undefined ? undefined : this.devices.get(id);
    if (d && d.status !== 'lost') d.lastSeen = Date.now();
  }

  probeAck(msg: NetProbeAck): void {
    const resolve = this.probes.get(msg.probeId);
    if (!resolve) {
      // A late answer to a probe that timed out is harmless; one never sent is a bug worth naming.
      if (msg.probeId < this.nextProbeId) return;
      throw new ProtocolError('bad-schema', `net:probe-ack: probe ${msg.probeId} was never sent; echo the probeId of the net:probe you answer`);
    }
    this.probes.delete(msg.probeId);
    resolve(msg);
  }

  /** A device's answer to net:peer-probe. */
  peerProbeResult(deviceId: string, msg: NetPeerProbeResult): void {
    this.links.result(deviceId, msg);
  }

  /** Links measured between devices' listeners (GET /api/devices/links, the planner). */
  peerLinks(): PeerLinkView[] {
    return this.links.list();
  }

  disconnected(socket: DeviceSocket, reason: string): void {
    const id = this.bySocket.get(socket);
    if (id !== undefined) this.markLost(id, `disconnected (${reason})`);
  }

  send<E extends ServerToDeviceEvent>(deviceId: string, event: E, payload: ServerToDevicePayloads[E]): boolean {
    const socket = this.sockets.get(deviceId);
    if (!socket || !socket.connected) return false;
    // Typed emit over a union of event names needs the one-event signature.
    (socket.emit as (ev: E, msg: ServerToDevicePayloads[E]) => boolean)(event, payload);
    return true;
  }

  /** A job gave up on this device: it is told why, marked lost and disconnected (it may rejoin as a new device). */
  drop(deviceId: string, code: string, message: string): void {
    const socket = this.sockets.get(deviceId);
    socket?.emit(EVENTS.error, { code, message });
    this.markLost(deviceId, `${code}: ${message}`);
    socket?.disconnect(true);
  }

  get(deviceId: string): DeviceView | undefined {
    return this.devices.get(deviceId);
  }

  list(): DeviceView[] {
    return [...this.devices.values()].map((d) => ({ ...d }));
  }

  /** Idle, connected, probed devices: what the scheduler may plan with. */
  idle(): DeviceView[] {
    return [...this.devices.values()].filter((d) => d.status === 'idle' && !this.probing.has(d.id) && this.sockets.get(d.id)?.connected === true);
  }

  setBusy(deviceId: string, jobId: string, stage: number): void {
    const d = this.devices.get(deviceId);
    if (d && d.status !== 'lost') Object.assign(d, { status: 'busy', jobId, stage });
  }

  setIdle(deviceId: string): void {
    const d = this.devices.get(deviceId);
    if (!d || d.status === 'lost') return;
    Object.assign(d, { status: 'idle', jobId: null, stage: null });
    this.emitAvailable();
  }

  private async probe(id: string): Promise<void> {
    this.probing.add(id);
    try {
      const rtt = await this.probeOnce(id, 0);
      const d = this.devices.get(id);
      if (!d || rtt === null) return;
      d.rttMs = rtt;
      const elapsed = await this.probeOnce(id, BANDWIDTH_PROBE_BYTES);
      // Loopback can answer in about one rtt: floor the transfer time so the figure stays finite.
      if (elapsed !== null) d.bandwidthBytesPerSec = (BANDWIDTH_PROBE_BYTES / Math.max(elapsed - rtt, 0.05)) * 1000;
      // Then the links between it and the other devices' listeners, where stage data would flow.
      const end = (v: DeviceView): { id: string; kind: DeviceView['kind']; peer: PeerListen | null } => ({ id: v.id, kind: v.kind, peer: this.listeners.get(v.id) ?? null });
      const others = [...this.devices.values()].filter((o) => o.id !== id && o.status !== 'lost' && this.sockets.get(o.id)?.connected === true);
      await this.links.around(end(d), others.map(end));
    } finally {
      this.probing.delete(id);
    }
  }

  /** Sends one probe, resolves with its round trip in ms, or null on timeout/disconnect. */
  private probeOnce(id: string, bytes: number): Promise<number | null> {
    const probeId = this.nextProbeId++;
    return new Promise((resolve) => {
      const start = performance.now();
      const timeout = setTimeout(() => {
        this.probes.delete(probeId);
        resolve(null);
      }, PROBE_TIMEOUT_MS);
      timeout.unref();
      this.probes.set(probeId, () => {
        clearTimeout(timeout);
        resolve(performance.now() - start);
      });
      if (!this.send(id, EVENTS.netProbe, { probeId, payload: new Uint8Array(bytes) })) {
        clearTimeout(timeout);
        this.probes.delete(probeId);
        resolve(null);
      }
    });
  }

  private refuse(socket: DeviceSocket, code: 'version' | 'bad-token', message: string): void {
    this.refusals.count(code);
    this.config.log(`join refused (${code}) from ${socket.handshake.address}`);
    socket.emit(EVENTS.error, { code, message, event: EVENTS.deviceJoin });
    // Engine.IO flushes the error before it closes the transport.
    socket.disconnect(true);
  }

  private checkHeartbeats(): void {
    const deadline = Date.now() - MISSED_BEATS * this.config.heartbeatMs;
    for (const d of this.devices.values()) {
      if (d.status !== 'lost' && d.lastSeen < deadline) {
        const socket = this.sockets.get(d.id);
        // A step (or a stage build) runs synchronously and starves the device's heartbeat timer, and
        // one can outlast 3 periods (slow or loaded device, big batch): while the device works for a
        // job and its socket is open, only a disconnect (Engine.IO's ping timeout included) marks it lost.
        if (socket?.connected && this.pipeline.computing(d.id)) continue;
        this.markLost(d.id, `no heartbeat for ${MISSED_BEATS} periods`);
        // A device that stopped beating must rejoin: its stage may already be elsewhere.
        socket?.disconnect(true);
      }
    }
  }

  private markLost(id: string, why: string): void {
    const d = this.devices.get(id);
    if (!d || d.status === 'lost') return;
    d.status = 'lost';
    this.sockets.delete(id);
    this.listeners.delete(id);
    this.links.forget(id);
    this.config.log(`device ${id} (${d.name}) lost: ${why}`);
    this.events.next({ type: 'lost', deviceId: id });
    this.pruneLost();
  }

  private pruneLost(): void {
    const lost = [...this.devices.values()].filter((d) => d.status === 'lost');
    for (const d of lost.slice(0, Math.max(0, lost.length - KEEP_LOST))) this.devices.delete(d.id);
  }

  private emitAvailable(): void {
    this.events.next({ type: 'available' });
  }
}
