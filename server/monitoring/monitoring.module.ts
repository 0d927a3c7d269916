import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module.js';
import { PipelineModule } from '../pipeline/pipeline.module.js';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';
import { MonitoringService } from './monitoring.service.js';

/** Operations: Prometheus metrics at /metrics and a health check at /api/health. */
@Module({
  imports: [DevicesModule, PipelineModule],
  controllers: [MetricsController, HealthController],
  providers: [MonitoringService],
})
export class MonitoringModule {}
