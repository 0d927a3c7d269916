import { Controller, Get, Header, Inject } from '@nestjs/common';
import { prometheusContentType } from 'prom-client';
import { MonitoringService } from './monitoring.service.js';

/** `GET /metrics`: Prometheus text format, open like every GET (no secrets in it). */
@Controller()
export class MetricsController {
  constructor(@Inject(MonitoringService) private readonly monitoring: MonitoringService) {}

  @Get('metrics')
  @Header('Content-Type', prometheusContentType)
  metrics(): Promise<string> {
    return this.monitoring.text();
  }
}
