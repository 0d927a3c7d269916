import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module.js';
import { PipelineModule } from '../pipeline/pipeline.module.js';
import { DashboardGateway } from './dashboard.gateway.js';
import { DashboardService } from './dashboard.service.js';
import { HistoryController } from './history.controller.js';
import { HistoryService } from './history.service.js';

/** Dashboards: the live feed (dash:state, dash:metrics, dash:epoch) and stored curves (GET /api/jobs/:id/steps). */
@Module({
  imports: [DevicesModule, PipelineModule],
  controllers: [HistoryController],
  providers: [DashboardService, DashboardGateway, HistoryService],
  exports: [DashboardService],
})
export class DashboardModule {}
