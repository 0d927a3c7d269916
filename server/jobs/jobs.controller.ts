import { BadRequestException, Body, ConflictException, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post, StreamableFile, UseGuards } from '@nestjs/common';
import { isProtocolError } from '../../protocol/index.js';
import { DevicesService, type DeviceRecord } from '../devices/devices.service.js';
import { AdminGuard } from './admin.guard.js';
import type { JobDetail, JobSummary } from './job-views.js';
import { JobConflictError, JobNotFoundError, JobsService } from './jobs.service.js';

/** Turns service errors into HTTP answers whose message names the fix. */
function httpError(err: unknown): unknown {
  if (isProtocolError(err)) return new BadRequestException({ statusCode: 400, error: err.code, message: err.message });
  if (err instanceof JobNotFoundError) return new NotFoundException(err.message);
  if (err instanceof JobConflictError) return new ConflictException(err.message);
  return err;
}

function attempt<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err: unknown) {
    throw httpError(err);
  }
}

/** REST API: jobs and devices. Reads are open; mutations need the admin token. */
@Controller('api')
export class JobsController {
  constructor(
    @Inject(JobsService) private readonly jobs: JobsService,
    @Inject(DevicesService) private readonly devices: DevicesService,
  ) {}

  @Post('jobs')
  @UseGuards(AdminGuard)
  @HttpCode(201)
  create(@Body() body: unknown): JobDetail {
    return attempt(() => this.jobs.create(body ?? {}));
  }

  @Get('jobs')
  list(): JobSummary[] {
    return this.jobs.list();
  }

  @Get('jobs/:id')
  get(@Param('id') id: string): JobDetail {
    return attempt(() => this.jobs.get(id));
  }

  @Post('jobs/:id/stop')
  @UseGuards(AdminGuard)
  @HttpCode(200)
  stop(@Param('id') id: string): JobDetail {
    return attempt(() => this.jobs.stop(id));
  }

  @Get('jobs/:id/model')
  async model(@Param('id') id: string): Promise<StreamableFile> {
    try {
      const bytes = await this.jobs.model(id);
      return new StreamableFile(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
        type: 'application/octet-stream',
        disposition: `attachment; filename="${id}.contsup-model"`,
      });
    } catch (err: unknown) {
      throw httpError(err);
    }
  }

  @Get('devices')
  listDevices(): DeviceRecord[] {
    return this.devices.list();
  }
}
