import { Module } from '@nestjs/common';
import { PipelineModule } from '../pipeline/pipeline.module.js';
import { DeviceGateway } from './device.gateway.js';
import { DevicesController } from './devices.controller.js';
import { DevicesService } from './devices.service.js';

/** Joined devices: the Socket.IO gateway they talk to, their registry, GET /api/devices. */
@Module({
  imports: [PipelineModule],
  controllers: [DevicesController],
  providers: [DevicesService, DeviceGateway],
  exports: [DevicesService],
})
export class DevicesModule {}
