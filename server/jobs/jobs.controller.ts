import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, StreamableFile, UseFilters, UseGuards } from '@nestjs/common';
import type { JobDetail, JobSummary, TestImages } from '../../protocol/index.js';
import { AdminGuard } from '../common/admin.guard.js';
import { DomainErrorFilter } from '../common/domain-error.filter.js';
import { JobsService } from './jobs.service.js';

/** REST API of jobs. Reads are open; mutations need the admin token. */
@Controller('api')
@UseFilters(DomainErrorFilter)
export class JobsController {
  constructor(@Inject(JobsService) private readonly jobs: JobsService) {}

  @Post('jobs')
  @UseGuards(AdminGuard)
  @HttpCode(201)
  create(@Body() body: unknown): JobDetail {
    return this.jobs.create(body ?? {});
  }

  @Get('jobs')
  list(): JobSummary[] {
    return this.jobs.list();
  }

  @Get('jobs/:id')
  get(@Param('id') id: string): JobDetail {
    return this.jobs.get(id);
  }

  @Post('jobs/:id/stop')
  @UseGuards(AdminGuard)
  @HttpCode(200)
  stop(@Param('id') id: string): JobDetail {
    return this.jobs.stop(id);
  }

  @Get('jobs/:id/model')
  async model(@Param('id') id: string): Promise<StreamableFile> {
    return download(`${id}.contsup-model`, await this.jobs.model(id));
  }

  @Get('jobs/:id/test-images')
  testImages(@Param('id') id: string, @Query('count') count?: string): Promise<TestImages> {
    return this.jobs.testImages(id, count);
  }

  @Get('jobs/:id/model.onnx')
  async onnx(@Param('id') id: string): Promise<StreamableFile> {
    return download(`${id}.onnx`, await this.jobs.onnx(id));
  }
}

/** A file download (the trained model, in contsup's format or ONNX) named after its job. */
function download(filename: string, bytes: Uint8Array): StreamableFile {
  return new StreamableFile(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    type: 'application/octet-stream',
    disposition: `attachment; filename="${filename}"`,
  });
}
