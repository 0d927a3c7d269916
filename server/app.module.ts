import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule } from './common/config.module.js';
import type { CoordinatorConfig } from './config.js';
import { DashboardModule } from './dashboard/dashboard.module.js';
import { DevicesModule } from './devices/devices.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { MonitoringModule } from './monitoring/monitoring.module.js';
import { PipelineModule } from './pipeline/pipeline.module.js';
import { PlannerModule } from './planner/planner.module.js';
import { StorageModule } from './storage/storage.module.js';
import type { CheckpointStore } from './storage/checkpoint.store.js';
import type { MetricsStore } from './storage/metrics.store.js';

/**
 * The coordinator: its settings and stores (made and closed by
 * startCoordinator, so given as values) and one module per feature.
 */
@Module({})
export class AppModule {
  static register(config: CoordinatorConfig, metrics: MetricsStore, checkpoints: CheckpointStore): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.register(config), StorageModule.register(metrics, checkpoints), PipelineModule, PlannerModule, DevicesModule, DashboardModule, JobsModule, MonitoringModule],
    };
  }
}
