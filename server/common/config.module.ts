import { Module, type DynamicModule } from '@nestjs/common';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config.js';
import { RefusalTally } from './refusal-tally.js';

/** Provides this coordinator's settings (COORDINATOR_CONFIG) and its refusal tally to every module. */
@Module({})
export class ConfigModule {
  static register(config: CoordinatorConfig): DynamicModule {
    return {
      module: ConfigModule,
      global: true,
      providers: [{ provide: COORDINATOR_CONFIG, useValue: config }, RefusalTally],
      exports: [COORDINATOR_CONFIG, RefusalTally],
    };
  }
}
