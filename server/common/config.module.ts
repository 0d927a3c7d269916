import { Module, type DynamicModule } from '@nestjs/common';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config.js';

/** Provides this coordinator's settings (COORDINATOR_CONFIG) to every module. */
@Module({})
export class ConfigModule {
  static register(config: CoordinatorConfig): DynamicModule {
    return {
      module: ConfigModule,
      global: true,
      providers: [{ provide: COORDINATOR_CONFIG, useValue: config }],
      exports: [COORDINATOR_CONFIG],
    };
  }
}
