import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CacheHealthIndicator } from './cache.health';
import { CircuitsHealthIndicator } from './circuits.health';
import { DatabaseHealthIndicator } from './database.health';
import { HealthController } from './health.controller';
import { HEALTH_OPTIONS_TYPE, HealthConfigurableModule } from './health.module-definition';
import { PoolHealthIndicator } from './pool.health';

/**
 * Health checks for operators and orchestrators: Terminus indicators for the DuckDB database,
 * its pool and (when `QueryCacheModule` is registered globally) the query cache, and {@link HealthController} (`/health`, `/health/live`, `/health/database`,
 * `/health/pool`, outside the API's global prefix). Needs `DuckDbModule` registered globally
 * (`isGlobal: true`), whose `DuckDbClient`, `DuckDbPool` and `DuckDbDatabase` it injects.
 *
 * Options: `databaseTimeoutMs` (default 2000), how long the database probe may take.
 *
 * @example
 * imports: [DuckDbModule.forRoot({ path, isGlobal: true }), HealthModule.forRoot({ databaseTimeoutMs: 1000 })]
 */
@Module({
  imports: [TerminusModule],
  controllers: [HealthController],
  providers: [
    DatabaseHealthIndicator,
    PoolHealthIndicator,
    CacheHealthIndicator,
    CircuitsHealthIndicator,
  ],
  exports: [
    DatabaseHealthIndicator,
    PoolHealthIndicator,
    CacheHealthIndicator,
    CircuitsHealthIndicator,
  ],
})
export class HealthModule extends HealthConfigurableModule {
  /** Registers the module; every option is optional, so `HealthModule.forRoot()` works. */
  static override forRoot(options: typeof HEALTH_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
