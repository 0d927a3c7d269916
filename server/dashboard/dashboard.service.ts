import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Server } from 'socket.io';
import { DASHBOARD_EVENTS, DASHBOARD_ROOM, type DashEpoch, type DashMetrics, type DashState } from '../../protocol/index.js';

const STATE_PERIOD_MS = 1000;

/**
 * Coarse live feed for dashboards in the `dashboard` room: the state every
 * second, metrics and epochs as they come. Emits nothing while the room is
 * empty, so an idle coordinator does no work for it.
 */
@Injectable()
export class DashboardService implements OnModuleDestroy {
  private server: Server | null = null;
  private stateSource: (() => DashState) | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.pushState(), STATE_PERIOD_MS);
    this.timer.unref();
  }

  attach(server: Server): void {
    this.server = server;
  }

  setStateSource(fn: () => DashState): void {
    this.stateSource = fn;
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
    if (this.watched() && this.stateSource) this.server!.to(DASHBOARD_ROOM).emit(DASHBOARD_EVENTS.state, this.stateSource());
  }

  private watched(): boolean {
    return (this.server?.sockets.adapter.rooms.get(DASHBOARD_ROOM)?.size ?? 0) > 0;
  }
}
