import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Server } from 'socket.io';
import { DASHBOARD_EVENTS, DASHBOARD_ROOM, type DashEpoch, type DashMetrics } from '../../protocol/index.js';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config.js';
import { DevicesService } from '../devices/devices.service.js';
import { PipelineService } from '../pipeline/pipeline.service.js';
import { dashState } from './dash-state.js';

const STATE_PERIOD_MS = 1000;

/**
 * Coarse live feed for dashboards in the `dashboard` room: the state every
 * second, metrics and epochs as they come. Emits nothing while the room is
 * empty, so an idle coordinator does no work for it.
 */
@Injectable()
export class DashboardService implements OnModuleDestroy {
  private server: Server | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(DevicesService) private readonly devices: DevicesService,
    @Inject(PipelineService) private readonly pipeline: PipelineService,
  ) {
    this.timer = setInterval(() => this.pushState(), STATE_PERIOD_MS);
    this.timer.unref();
  }

  /** The Socket.IO server, once Nest made it (DashboardGateway.afterInit). */
  attach(server: Server): void {
    this.server = server;
  }

  metrics(m: DashMetrics): void {
    if (this.watched()) this.server!.to(DASHBOARD_ROOM).emit(DASHBOARD_EVENTS.metrics, m);
  }

  epoch(e: DashEpoch): void {
    if (this.watched()) this.server!.to(DASHBOARD_ROOM).emit(DASHBOARD_EVENTS.epoch, e);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  private pushState(): void {
    if (!this.watched()) return;
    this.server!.to(DASHBOARD_ROOM).emit(DASHBOARD_EVENTS.state, dashState(this.config.credits, this.devices.list(), this.pipeline.all()));
  }

  private watched(): boolean {
    return (this.server?.sockets.adapter.rooms.get(DASHBOARD_ROOM)?.size ?? 0) > 0;
  }
}
