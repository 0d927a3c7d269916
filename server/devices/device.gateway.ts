import { Inject } from '@nestjs/common';
import { WebSocketGateway, type OnGatewayConnection, type OnGatewayDisconnect } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import {
  DASHBOARD_EVENTS,
  DASHBOARD_ROOM,
  DEVICE_TO_SERVER_EVENTS,
  EVENTS,
  ProtocolError,
  checkPayloadSize,
  validateInbound,
  type DeviceToServerEvent,
  type DeviceToServerPayloads,
} from '../../protocol/index.js';
import { RefusalTally } from '../common/refusal-tally.js';
import { refuse } from '../common/socket-refusal.js';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config.js';
import { PipelineService, type StageEvent } from '../pipeline/pipeline.service.js';
import { DevicesService, type DeviceSocket } from './devices.service.js';
import { IngressGuard } from './ingress.guard.js';

const KNOWN_EVENTS: readonly string[] = [...DEVICE_TO_SERVER_EVENTS, DASHBOARD_EVENTS.subscribe];
/** Control messages are small; outputs and checkpoints get per-stage limits in the runner. */
const CONTROL_MESSAGE_BYTES = 64 * 1024;
const BULK_EVENTS = new Set<string>([EVENTS.stageOutput, EVENTS.stageCheckpoint]);

/**
 * The Socket.IO face of the coordinator for devices. Each event is validated
 * (protocol schemas), handed to a service and done; a refused message is
 * answered with an `error` event naming the fix and dropped. Dashboards'
 * `dash:subscribe` is DashboardGateway's.
 */
@WebSocketGateway()
export class DeviceGateway implements OnGatewayConnection, OnGatewayDisconnect {
  private readonly ingress: IngressGuard;
  private readonly detach = new WeakMap<DeviceSocket, () => void>();

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(DevicesService) private readonly devices: DevicesService,
    @Inject(PipelineService) private readonly pipeline: PipelineService,
    @Inject(RefusalTally) private readonly refusals: RefusalTally,
  ) {
    this.ingress = new IngressGuard(config.maxMessageBytes, config.joinWindowMs);
  }

  handleConnection(socket: DeviceSocket): void {
    // A frame the decoder refused (over a limit, over a rate, not msgpack) arrives here just before
    // socket.io closes the connection: tell the peer why; the close flushes it first.
    socket.on('error', (err: unknown) => this.refuse(socket, err, 'frame', undefined));
    const settled = (): boolean => this.devices.joined(socket) || (socket as Socket).rooms.has(DASHBOARD_ROOM);
    this.detach.set(
      socket,
      this.ingress.attach(socket, settled, (err) => {
        this.refuse(socket, err, EVENTS.deviceJoin, undefined);
        socket.disconnect(true);
      }),
    );
    // socket.io runs onAny listeners synchronously as each packet arrives, but
    // named-event handlers a tick later, and drops those once the socket has
    // disconnected: a device's last answers before it leaves would be lost.
    socket.onAny((event: unknown, payload: unknown) => this.route(socket, event, payload));
  }

  handleDisconnect(socket: DeviceSocket): void {
    this.detach.get(socket)?.();
    this.devices.disconnected(socket, 'socket closed');
  }

  private route(socket: DeviceSocket, event: unknown, payload: unknown): void {
    switch (event) {
      case EVENTS.deviceJoin:
        return this.handle(socket, event, payload, (msg) => {
          this.devices.join(socket, msg);
          if (this.devices.joined(socket)) this.ingress.trust(socket);
        });
      case EVENTS.deviceHeartbeat:
        return this.handle(socket, event, payload, () => void this.devices.requireDevice(socket, event));
      case EVENTS.netProbeAck:
        return this.handle(socket, event, payload, (msg) => {
          this.devices.requireDevice(socket, event);
          this.devices.probeAck(msg);
        });
      case EVENTS.netPeerProbeResult:
        return this.handle(socket, event, payload, (msg) => this.devices.peerProbeResult(this.devices.requireDevice(socket, event), msg));
      case EVENTS.stageArrived:
      case EVENTS.stageRelayFallback:
      case EVENTS.stageReady:
      case EVENTS.stageOutput:
      case EVENTS.stageDone:
      case EVENTS.stageMetrics:
      case EVENTS.stageEval:
      case EVENTS.stageCheckpoint:
        return this.stage(socket, event, payload);
      case DASHBOARD_EVENTS.subscribe:
        return;
      default:
        this.refuse(socket, new ProtocolError('unknown-event', `unknown event ${JSON.stringify(event)}; known events: ${KNOWN_EVENTS.join(', ')}`), String(event), payload);
    }
  }

  private stage<E extends StageEvent>(socket: DeviceSocket, event: E, payload: unknown): void {
    this.handle(socket, event, payload, (msg) => this.pipeline.stageMessage(this.devices.requireDevice(socket, event), event, msg));
  }

  /** Validate, call the service, answer a refusal; async service errors are caught too. */
  private handle<E extends DeviceToServerEvent>(socket: DeviceSocket, event: E, payload: unknown, fn: (msg: DeviceToServerPayloads[E]) => void | Promise<void>): void {
    try {
      if (!BULK_EVENTS.has(event)) checkPayloadSize(event, payload, CONTROL_MESSAGE_BYTES);
      const msg = validateInbound(event, payload);
      this.devices.touch(socket);
      const result = fn(msg);
      if (result instanceof Promise) result.catch((err: unknown) => this.refuse(socket, err, event, payload));
    } catch (err: unknown) {
      this.refuse(socket, err, event, payload);
    }
  }

  private refuse(socket: DeviceSocket, err: unknown, event: string, payload: unknown): void {
    refuse(socket, err, event, payload, this.config.log, this.refusals);
  }
}
