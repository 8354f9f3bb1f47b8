import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { MetricsService } from './metrics.service';
import { PROMETHEUS_CONTENT_TYPE } from './observability.constants';

/**
 * `GET /metrics`: every metric of the application in the Prometheus text format. An operations
 * endpoint outside the API's prefix (see `METRICS_ROUTES`): never authenticated, never rate
 * limited, never cached.
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
