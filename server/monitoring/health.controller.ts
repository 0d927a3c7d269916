import { Controller, Get } from '@nestjs/common';
import { PROTOCOL_VERSION } from '../../protocol/index.js';

/** `GET /api/health`: 200 while the coordinator answers HTTP, for load balancers; no auth. */
@Controller('api')
export class HealthController {
  @Get('health')
  health(): { status: 'ok'; protocolVersion: number } {
    return { status: 'ok', protocolVersion: PROTOCOL_VERSION };
  }
}
