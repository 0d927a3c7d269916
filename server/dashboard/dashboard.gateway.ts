import { Inject } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, type OnGatewayInit } from '@nestjs/websockets';
import type { Server, Socket } from 'socket.io';
import { DASHBOARD_EVENTS, DASHBOARD_ROOM, dashSubscribeSchema, parseOrThrow } from '../../protocol/index.js';
import { RefusalTally } from '../common/refusal-tally.js';
import { refuse } from '../common/socket-refusal.js';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config.js';
import { DashboardService } from './dashboard.service.js';

/** Dashboards' side of the Socket.IO server: `dash:subscribe` puts the socket in the dashboard room. */
@WebSocketGateway()
export class DashboardGateway implements OnGatewayInit {
  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(DashboardService) private readonly dashboard: DashboardService,
    @Inject(RefusalTally) private readonly refusals: RefusalTally,
  ) {}

  afterInit(server: Server): void {
    this.dashboard.attach(server);
  }

  @SubscribeMessage(DASHBOARD_EVENTS.subscribe)
  subscribe(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown): void {
    try {
      parseOrThrow(dashSubscribeSchema, payload, DASHBOARD_EVENTS.subscribe);
      void socket.join(DASHBOARD_ROOM);
    } catch (err: unknown) {
      refuse(socket, err, DASHBOARD_EVENTS.subscribe, payload, this.config.log, this.refusals);
    }
  }
}
