import { Controller, Get, Inject, Param, Query, UseFilters } from '@nestjs/common';
import type { StepHistory } from '../../protocol/index.js';
import { DomainErrorFilter } from '../common/domain-error.filter.js';
import { HistoryService } from './history.service.js';

/** Stored per-step metrics for the dashboard's curves (read-only, open like every GET). */
@Controller('api')
@UseFilters(DomainErrorFilter)
export class HistoryController {
  constructor(@Inject(HistoryService) private readonly history: HistoryService) {}

  @Get('jobs/:id/steps')
  steps(@Param('id') id: string, @Query('points') points?: string): StepHistory {
    return this.history.steps(id, points);
  }
}
