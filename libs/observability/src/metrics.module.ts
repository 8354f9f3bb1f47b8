import { type DynamicModule, Module } from '@nestjs/common';
import { CacheMetrics } from './cache.metrics';
import { ResilienceMetrics } from './resilience.metrics';
import { DatabaseMetrics } from './database.metrics';
import { HttpMetrics } from './http.metrics';
import { MetricsController } from './metrics.controller';
import { METRICS_OPTIONS_TYPE, MetricsConfigurableModule } from './metrics.module-definition';
import { MetricsService } from './metrics.service';

/**
 * Prometheus metrics at `GET /metrics` (outside the API prefix): HTTP request counts and
 * durations by route pattern, the DuckDB pool and transaction counters, the query cache's
 * counters, and Node.js/process metrics (event-loop lag included). Each application gets its own
 * registry. Pool, transaction and cache metrics appear when `DuckDbModule` / `QueryCacheModule`
 * are registered globally.
 *
 * Register it with `isGlobal: true` so that other libraries can inject {@link MetricsService} to
 * add their own metrics.
 *
 * @example
 * imports: [MetricsModule.forRoot({ isGlobal: true })]
 */
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, HttpMetrics, DatabaseMetrics, CacheMetrics, ResilienceMetrics],
  exports: [MetricsService],
})
export class MetricsModule extends MetricsConfigurableModule {
  /** Registers the module; every option is optional, so `MetricsModule.forRoot()` works. */
  static override forRoot(options: typeof METRICS_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
