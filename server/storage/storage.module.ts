import { Module, type DynamicModule } from '@nestjs/common';
import { CheckpointStore } from './checkpoint.store.js';
import { MetricsStore } from './metrics.store.js';

/**
 * The coordinator's history (SQLite) and checkpoint files, for every module.
 * startCoordinator opens the stores before Nest starts and closes them after
 * Nest stopped (or failed to start), so they are provided as values.
 */
@Module({})
export class StorageModule {
  static register(metrics: MetricsStore, checkpoints: CheckpointStore): DynamicModule {
    return {
      module: StorageModule,
      global: true,
      providers: [
        { provide: MetricsStore, useValue: metrics },
        { provide: CheckpointStore, useValue: checkpoints },
      ],
      exports: [MetricsStore, CheckpointStore],
    };
  }
}
