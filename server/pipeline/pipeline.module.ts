import { Module } from '@nestjs/common';
import { PipelineService } from './pipeline.service.js';

/** The jobs' pipelines (runners, flow control, answer checks); knows no other module. */
@Module({
  providers: [PipelineService],
  exports: [PipelineService],
})
export class PipelineModule {}
