import { Module, type DynamicModule } from '@nestjs/common';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from './config.js';
import { DashboardService } from './dashboard/dashboard.service.js';
import { HistoryController } from './dashboard/history.controller.js';
import { DeviceGateway } from './device.gateway.js';
import { DevicesService } from './devices/devices.service.js';
import { AdminGuard } from './jobs/admin.guard.js';
import { JobsController } from './jobs/jobs.controller.js';
import { JobsService } from './jobs/jobs.service.js';
import { CheckpointStore } from './storage/checkpoint.store.js';
import { MetricsStore } from './storage/metrics.store.js';

/**
 * The coordinator's one module. The stores are made by startCoordinator
 * (which also closes them) and provided as values.
 */
@Module({})
export class AppModule {
  static register(config: CoordinatorConfig, metrics: MetricsStore, checkpoints: CheckpointStore): DynamicModule {
    return {
      module: AppModule,
      controllers: [JobsController, HistoryController],
      providers: [
        { provide: COORDINATOR_CONFIG, useValue: config },
        { provide: MetricsStore, useValue: metrics },
        { provide: CheckpointStore, useValue: checkpoints },
        DevicesService,
        DashboardService,
        JobsService,
        AdminGuard,
        DeviceGateway,
      ],
    };
  }
}
