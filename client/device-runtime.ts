import { io } from 'socket.io-client';
import type { JobStop, ErrorMessage } from '../protocol/control-messages.js';
import type { StageInput, StageOutput } from '../protocol/data-messages.js';
import type { DeviceWelcome, NetProbe } from '../protocol/device-messages.js';
import { ProtocolError, isProtocolError } from '../protocol/errors.js';
import {
  EVENTS,
  SERVER_TO_DEVICE_EVENTS,
  type DeviceToServerEvent,
  type DeviceToServerPayloads,
  type ServerToDeviceEvent,
  type ServerToDevicePayloads,
} from '../protocol/events.js';
import { parser } from '../protocol/parser.js';
import type { NetPeerProbe } from '../protocol/peer-messages.js';
import type { StageAssign, StageRelease } from '../protocol/stage-messages.js';
import { validateFromServer } from '../protocol/validate.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import { backoffDelay } from './backoff.js';
import type { DeviceLogLevel, DeviceProblem, DeviceRuntimeOptions, DeviceSocket, DeviceStageInfo, DeviceState, DeviceStatus } from './device-types.js';
import { SerialQueue } from './serial-queue.js';
import { measureDeviceSpeed } from '../engine/backend/speed.js';
import { LocalStageHost, type StageHost } from './stage-host.js';
import { checkStageInput } from './stage-inputs.js';
import { PeerLink, nextStageInput, probePeer } from './peer-link.js';

interface StageSlot {
  assign: StageAssign;
  /** Null until the build task ran (or when it failed). */
  host: StageHost | null;
  /** Direct plane: the link to the successor's device (stage:assign.next). */
  link: PeerLink | null;
  /** The coordinator was told this stage relays (the link failed). */
  relaying: boolean;
}

/** Loose view of the socket for the event loop over every protocol event name. */
interface LooseSocket {
  on(event: string, fn: (payload: unknown) => void): void;
  emit(event: string, payload: unknown): void;
}

// Codes after which retrying the same join cannot succeed.
const FATAL_CODES = new Set(['bad-token', 'version']);

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A device: joins a coordinator over Socket.IO, runs the stage it is
 * assigned (StageHost) on each `stage:input` in arrival order, and answers
 * with metrics, outputs and checkpoints. Works in Node and in browsers:
 * everything environment-specific (backend, memory, benchmark, logging,
 * socket) comes in through the options.
 */
export class DeviceRuntime {
  private socket: DeviceSocket | null = null;
  private readonly queue: SerialQueue;
  private slot: StageSlot | null = null;
  private state: DeviceState = 'idle';
  private detail: string | undefined;
  private deviceId: string | null = null;
  private welcomed = false;
  private heartbeatMs = 0;
  private lastBeat = 0;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryAttempt = 0;
  private speedGflops = 0;
  private stopped = false;

  private readonly handlers: { [E in ServerToDeviceEvent]: (msg: ServerToDevicePayloads[E]) => void } = {
    'device:welcome': (m) => this.onWelcome(m),
    'net:probe': (m) => this.onProbe(m),
    'stage:assign': (m) => this.onAssign(m),
    'stage:release': (m) => this.onRelease(m),
    'stage:input': (m) => this.onInput(m),
    'job:stop': (m) => this.onJobStop(m),
    'net:peer-probe': (m) => this.onPeerProbe(m),
    error: (m) => this.onCoordinatorError(m),
  };

  constructor(private readonly options: DeviceRuntimeOptions) {
    this.queue = new SerialQueue((err) => this.problem({ code: 'device-error', message: `unexpected failure: ${messageOf(err)}`, fromCoordinator: false }));
  }

  get status(): DeviceStatus {
    return this.detail === undefined ? { state: this.state, deviceId: this.deviceId } : { state: this.state, deviceId: this.deviceId, detail: this.detail };
  }

  /** The stage held now, if any. */
  get stage(): DeviceStageInfo | null {
    return this.slot ? this.stageInfo(this.slot) : null;
  }

  /** Measures the device's speed once, then connects; joins (and re-joins after every reconnect) on its own. */
  async start(): Promise<void> {
    if (this.socket || this.stopped) throw new Error('DeviceRuntime.start: already started (a stopped runtime cannot be restarted; make a new one)');
    this.setState('connecting', 'measuring speed');
    try {
      const measured = await (this.options.measureSpeed ?? measureDeviceSpeed)();
      this.speedGflops = Number.isFinite(measured) && measured > 0 ? measured : 0;
    } catch (err: unknown) {
      this.log('warn', `speed benchmark failed (${messageOf(err)}); joining with speed 0`);
    }
    if (this.stopped) return;
    this.log('info', `speed ${this.speedGflops.toFixed(2)} GFLOP/s; connecting to ${this.options.url}`);
    const factory = this.options.connect ?? ((url, opts) => io(url, opts) as DeviceSocket);
    const socket = factory(this.options.url, {
      // Long-polling would base64 every tensor; the protocol is websocket-only.
      transports: ['websocket'],
      parser,
      forceNew: true,
      autoConnect: false,
      reconnection: true,
      reconnectionDelay: this.options.reconnectDelayMs ?? 500,
      reconnectionDelayMax: this.options.reconnectDelayMaxMs ?? 10_000,
      randomizationFactor: 0.5,
    });
    this.socket = socket;
    this.listen(socket);
    this.setState('connecting');
    socket.connect();
  }

  /** Leaves the coordinator, drops the stage and waits for queued work to finish. */
  async stop(): Promise<void> {
    if (this.stopped) return this.queue.idle();
    this.stopped = true;
    this.clearTimers();
    this.dropStage('device stopping');
    this.socket?.disconnect();
    this.setState('stopped');
    await this.queue.idle();
  }

  /** Resolves once every input received so far is processed (and answered). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private listen(socket: DeviceSocket): void {
    socket.on('connect', () => this.onConnect());
    socket.on('disconnect', (reason) => this.onDisconnect(reason));
    socket.on('connect_error', (err) => this.onConnectError(err));
    const loose = socket as unknown as LooseSocket;
    for (const event of SERVER_TO_DEVICE_EVENTS) loose.on(event, (payload) => this.receive(event, payload));
    socket.onAny((event: unknown) => {
      if (!(SERVER_TO_DEVICE_EVENTS as readonly unknown[]).includes(event)) this.log('warn', `ignoring unknown event ${JSON.stringify(event)} from the coordinator`);
    });
  }

  /** Validates a server message (reject, don't coerce) and hands it to its handler. */
  private receive(event: ServerToDeviceEvent, payload: unknown): void {
    let msg: ServerToDevicePayloads[ServerToDeviceEvent];
    try {
      msg = validateFromServer(event, payload);
    } catch (err: unknown) {
      this.refuse(err, event, undefined);
      return;
    }
    (this.handlers[event] as (m: ServerToDevicePayloads[ServerToDeviceEvent]) => void)(msg);
  }

  private onConnect(): void {
    this.welcomed = false;
    this.setState('connecting', 'joining');
    const { token, name, kind, backend, memoryBytes, userAgent, adapter } = this.options;
    this.socket?.emit(EVENTS.deviceJoin, {
      protocolVersion: PROTOCOL_VERSION,
      token,
      name,
      kind,
      backend,
      memoryBytes: Math.max(0, Math.floor(memoryBytes)),
      speedGflops: this.speedGflops,
      ...(userAgent === undefined ? {} : { userAgent: userAgent.slice(0, 1024) }),
      ...(adapter === undefined || adapter === '' ? {} : { adapter: adapter.slice(0, 256) }),
      ...(this.options.peer ? { peer: { ...this.options.peer.listen } } : {}),
    });
  }

  private onWelcome(m: DeviceWelcome): void {
    if (m.protocolVersion !== PROTOCOL_VERSION) {
      this.log('warn', `coordinator speaks protocol ${m.protocolVersion}, this device ${PROTOCOL_VERSION}`);
    }
    this.welcomed = true;
    this.deviceId = m.deviceId;
    this.retryAttempt = 0;
    this.heartbeatMs = m.heartbeatMs;
    this.stopHeartbeat();
    this.beat();
    this.heartbeatTimer = setInterval(() => this.beat(), m.heartbeatMs);
    this.setState('joined');
    this.log('info', `joined as ${m.deviceId} (heartbeat every ${m.heartbeatMs} ms)`);
  }

  private onDisconnect(reason: string): void {
    this.welcomed = false;
    this.stopHeartbeat();
    // Nothing queued while disconnected may go out after the re-join: the
    // coordinator has re-planned by then, and join must be the first message.
    if (this.socket) this.socket.sendBuffer.length = 0;
    // The coordinator re-assigns a lost stage; keeping it would only hold memory.
    this.dropStage(`disconnected (${reason})`);
    if (this.stopped || this.state === 'rejected') return;
    this.log('warn', `disconnected from the coordinator: ${reason}`);
    if (reason === 'io server disconnect') this.scheduleRetry(reason);
    else this.setState('reconnecting', reason);
  }

  private onConnectError(err: Error): void {
    if (this.stopped) return;
    this.log('warn', `cannot reach the coordinator at ${this.options.url}: ${err.message}`);
    // socket.io retries transport failures itself; a refusal by server middleware leaves the socket inactive.
    if (this.socket && !this.socket.active) this.scheduleRetry(err.message);
    else this.setState('reconnecting', err.message);
  }

  /** Our own backoff for the cases socket.io does not retry (server-side disconnect, middleware refusal). */
  private scheduleRetry(reason: string): void {
    if (this.stopped || this.retryTimer) return;
    const delay = backoffDelay(this.retryAttempt++, this.options.reconnectDelayMs ?? 500, this.options.reconnectDelayMaxMs ?? 10_000);
    this.setState('reconnecting', `${reason}; retrying in ${delay} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped && this.socket && !this.socket.connected) this.socket.connect();
    }, delay);
  }

  private onProbe(m: NetProbe): void {
    this.send(EVENTS.netProbeAck, { probeId: m.probeId, receivedBytes: m.payload.byteLength });
  }

  private onAssign(m: StageAssign): void {
    if (this.slot) this.dropStage(`replaced by job ${m.jobId} stage ${m.stage}`);
    const slot: StageSlot = { assign: m, host: null, link: null, relaying: false };
    this.slot = slot;
    this.openPeers(slot);
    this.options.onStage?.(this.stageInfo(slot));
    this.queue.push(async () => {
      if (this.slot !== slot) return;
      try {
        // Kept on the slot even if it was dropped meanwhile: the drop's queued dispose frees it.
        slot.host = await (this.options.stageHost ?? LocalStageHost.build)(m);
        if (this.slot !== slot) return;
      } catch (err: unknown) {
        if (this.slot !== slot) return;
        this.slot = null;
        this.options.onStage?.(null);
        this.refuse(err, EVENTS.stageAssign, undefined);
        return;
      }
      const resumed = slot.host.resumedStep === null ? 'fresh weights' : `checkpoint of step ${slot.host.resumedStep}`;
      this.log('info', `job ${m.jobId}: stage ${m.stage} ready (modules ${m.firstModule}..${m.lastModule} of ${m.job.model} K=${m.job.modules} ${m.job.context}, ${resumed})`);
      this.send(EVENTS.stageReady, { jobId: m.jobId, stage: m.stage });
      this.options.onStage?.(this.stageInfo(slot));
    });
  }

  private onInput(m: StageInput): void {
    const slot = this.slot;
    if (!slot || slot.assign.jobId !== m.jobId || slot.assign.stage !== m.stage) {
      const held = slot ? `it holds job ${slot.assign.jobId} stage ${slot.assign.stage}` : 'it holds no stage';
      this.problem({ code: 'not-assigned', message: `stage:input for batch ${m.batchId}: job ${m.jobId} stage ${m.stage} is not assigned to this device (${held})`, event: EVENTS.stageInput, batchId: m.batchId, fromCoordinator: false });
      return;
    }
    this.queue.push(async () => {
      // Released, replaced or disconnected while this input waited: the coordinator re-sends it elsewhere.
      if (this.slot !== slot || !slot.host) return;
      let replies;
      try {
        replies = await slot.host.run(m);
      } catch (err: unknown) {
        this.refuse(err, EVENTS.stageInput, m.batchId);
        return;
      }
      if (this.slot !== slot) return;
      // Order of docs/protocol.md section 6: metrics/eval, then output/done, then checkpoint.
      if (replies.metrics) {
        this.send(EVENTS.stageMetrics, replies.metrics);
        this.options.onMetrics?.({ kind: 'train', metrics: replies.metrics });
      }
      if (replies.eval) {
        this.send(EVENTS.stageEval, replies.eval);
        this.options.onMetrics?.({ kind: 'eval', eval: replies.eval });
      }
      if (replies.output) await this.forward(slot, replies.output, m);
      if (replies.done) this.send(EVENTS.stageDone, replies.done);
      if (replies.checkpoint) this.send(EVENTS.stageCheckpoint, replies.checkpoint);
      // A long step starves the interval timer; catch up right away.
      if (this.welcomed && Date.now() - this.lastBeat >= this.heartbeatMs) this.beat();
    });
  }

  private onRelease(m: StageRelease): void {
    const slot = this.slot;
    if (slot && slot.assign.jobId === m.jobId && slot.assign.stage === m.stage) this.dropStage('released by the coordinator');
  }

  private onJobStop(m: JobStop): void {
    if (this.slot?.assign.jobId === m.jobId) this.dropStage(`job stopped: ${m.reason}`);
  }

  private onCoordinatorError(m: ErrorMessage): void {
    this.problem({ code: m.code, message: m.message, ...(m.event === undefined ? {} : { event: m.event }), ...(m.batchId === undefined ? {} : { batchId: m.batchId }), fromCoordinator: true });
    if (FATAL_CODES.has(m.code)) {
      // Retrying the same join cannot succeed: stop socket.io's reconnect loop too.
      this.setState('rejected', `${m.code}: ${m.message}`);
      this.clearTimers();
      this.socket?.disconnect();
    }
  }

  /** Frees the stage after any work already queued for it; later inputs for it are refused. */
  private dropStage(reason: string): void {
    const slot = this.slot;
    if (!slot) return;
    this.slot = null;
    slot.link?.close();
    if (slot.assign.prev) this.options.peer?.grant(null);
    this.log('info', `job ${slot.assign.jobId}: stage ${slot.assign.stage} dropped (${reason})`);
    this.queue.push(() => {
      slot.host?.dispose();
      slot.host = null;
    });
    this.options.onStage?.(null);
  }

  /** Direct plane: grant the predecessor's device, dial the successor's (docs/runtime.md). */
  private openPeers(slot: StageSlot): void {
    const { assign } = slot;
    const peer = this.options.peer;
    if (assign.prev && peer) {
      peer.grant({ jobId: assign.jobId, stage: assign.stage, prev: assign.prev, accept: (input, bytes) => this.onPeerInput(slot, input, bytes) });
    } else if (peer) {
      peer.grant(null);
    }
    if (assign.next && this.deviceId !== null) {
      const hello = { protocolVersion: PROTOCOL_VERSION, purpose: 'data' as const, fromDeviceId: this.deviceId, token: assign.next.token, jobId: assign.jobId, stage: assign.stage + 1 };
      slot.link = new PeerLink(assign.next, hello, (e) => this.problem({ code: e.code, message: `stage ${assign.stage + 1} refused: ${e.message}`, ...(e.event === undefined ? {} : { event: e.event }), ...(e.batchId === undefined ? {} : { batchId: e.batchId }), fromCoordinator: false }), this.options.peerConnectTimeoutMs);
    }
  }

  /**
   * Sends an output on: straight to the successor while the link holds,
   * else through the coordinator, telling it once why the cut relays.
   */
  private async forward(slot: StageSlot, out: StageOutput, input: StageInput): Promise<void> {
    const link = slot.link;
    if (link && !slot.relaying) {
      if (await link.ready()) {
        link.send(nextStageInput(out, input));
        return;
      }
      slot.relaying = true;
      const reason = link.reason ?? 'the link is not open';
      this.log('warn', `job ${slot.assign.jobId}: stage ${slot.assign.stage} relays through the coordinator: ${reason}`);
      this.send(EVENTS.stageRelayFallback, { jobId: slot.assign.jobId, stage: slot.assign.stage, reason: reason.slice(0, 1024) });
    }
    if (this.slot === slot) this.send(EVENTS.stageOutput, out);
  }

  /** An input from the granted predecessor: checked as the coordinator checks outputs, reported, then queued. */
  private onPeerInput(slot: StageSlot, input: StageInput, bytes: number): void {
    if (this.slot !== slot || !slot.host) throw new ProtocolError('not-assigned', `peer:input for batch ${input.batchId}: stage ${input.stage} is not ready on this device`);
    checkStageInput(input, slot.host.layout);
    // Credits, deadlines and acknowledgements stay with the coordinator: it learns of every arrival.
    this.send(EVENTS.stageArrived, { jobId: input.jobId, stage: input.stage, batchId: input.batchId, bytes });
    this.onInput(input);
  }

  /** Measures the link to another device's listener for the planner; answered even while a step runs. */
  private onPeerProbe(m: NetPeerProbe): void {
    const from = this.deviceId ?? '';
    probePeer(m.address, m.token, from, this.options.peerConnectTimeoutMs).then(
      (r) => this.send(EVENTS.netPeerProbeResult, { probeId: m.probeId, targetDeviceId: m.targetDeviceId, rttMs: r.rttMs, bandwidthBytesPerSec: r.bandwidthBytesPerSec }),
      (err: unknown) => this.send(EVENTS.netPeerProbeResult, { probeId: m.probeId, targetDeviceId: m.targetDeviceId, rttMs: null, bandwidthBytesPerSec: null, error: messageOf(err).slice(0, 1024) }),
    );
  }

  private beat(): void {
    this.lastBeat = Date.now();
    this.send(EVENTS.deviceHeartbeat, { sentAt: this.lastBeat });
  }

  /** Emits when joined; anything else would be stale (old session) or premature (before welcome). */
  private send<E extends DeviceToServerEvent>(event: E, payload: DeviceToServerPayloads[E]): boolean {
    const socket = this.socket;
    if (!socket || !socket.connected || !this.welcomed) return false;
    (socket as unknown as LooseSocket).emit(event, payload);
    return true;
  }

  private refuse(err: unknown, event: string, batchId: number | undefined): void {
    const code = isProtocolError(err) ? err.code : 'device-error';
    this.problem({ code, message: messageOf(err), event, ...(batchId === undefined ? {} : { batchId }), fromCoordinator: false });
  }

  private problem(p: DeviceProblem): void {
    this.log('error', p.fromCoordinator ? `coordinator says ${p.code}: ${p.message}` : `refused (${p.code}): ${p.message}`);
    this.options.onError?.(p);
  }

  private stageInfo(slot: StageSlot): DeviceStageInfo {
    const { assign, host } = slot;
    return {
      jobId: assign.jobId,
      stage: assign.stage,
      firstModule: assign.firstModule,
      lastModule: assign.lastModule,
      job: assign.job,
      state: host ? 'ready' : 'building',
      resumedStep: host?.resumedStep ?? null,
    };
  }

  private setState(state: DeviceState, detail?: string): void {
    if (this.state === state && this.detail === detail) return;
    this.state = state;
    this.detail = detail;
    this.options.onStatus?.(this.status);
  }

  private log(level: DeviceLogLevel, message: string): void {
    this.options.log?.(level, message);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private clearTimers(): void {
    this.stopHeartbeat();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
