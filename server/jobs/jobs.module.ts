import { Module } from '@nestjs/common';
import { DashboardModule } from '../dashboard/dashboard.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { PipelineModule } from '../pipeline/pipeline.module.js';
import { PlannerModule } from '../planner/planner.module.js';
import { JobsController } from './jobs.controller.js';
import { JobsService } from './jobs.service.js';

/** Jobs: REST (create, list, show, stop, model download) and scheduling onto devices. */
@Module({
  imports: [DevicesModule, PipelineModule, PlannerModule, DashboardModule],
  controllers: [JobsController],
  providers: [JobsService],
})
export class JobsModule {}
