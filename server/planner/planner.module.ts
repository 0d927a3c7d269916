import { Module } from '@nestjs/common';
import { PlannerService } from './planner.service.js';

/** Stage placement (planner.ts is pure; PlannerService applies it to devices). */
@Module({
  providers: [PlannerService],
  exports: [PlannerService],
})
export class PlannerModule {}
