import {
  Controller,
  Get,
  Header,
  NotFoundException,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  type HealthCheckResult,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { DuckDbPool, type PoolStats } from '@lib/duckdb';
import type { QueryCacheStats } from '@lib/query-cache';
import type { CircuitInfo } from '@lib/resilience';
import { CacheHealthIndicator } from './cache.health';
import { CircuitsHealthIndicator } from './circuits.health';
import { DatabaseHealthIndicator } from './database.health';
import { HEALTH_CACHE_CONTROL } from './health.constants';
import { LIVENESS_SCHEMA, POOL_STATS_SCHEMA } from './health.schemas';
import { PoolHealthIndicator } from './pool.health';

/**
 * Operations endpoints, served outside the API's global prefix (see `HEALTH_ROUTES`):
 *
 * - `GET /health`: readiness (`database` and `pool`; `cache`, which never fails it, and
 *   `circuits`, down while the database circuit is open, when the application has them),
 *   Terminus shape, 200 or 503.
 * - `GET /health/live`: liveness, 200 `{status: 'ok'}` while the process serves; touches nothing.
 * - `GET /health/database`: the `database` indicator alone, Terminus shape, 200 or 503.
 * - `GET /health/pool`: the pool's raw statistics, always 200.
 * - `GET /health/cache`: the query cache's counters, always 200 (404 without a cache).
 * - `GET /health/circuits`: the circuit breakers, always 200 (an empty list without them).
 *
 * A failed check answers 503 with the Terminus body `{status, info, error, details}` itself: the
 * controller catches Terminus' `ServiceUnavailableException` so that no global exception filter
 * rewrites the body into the API's error shape.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly pool: PoolHealthIndicator,
    private readonly duckDbPool: DuckDbPool,
    private readonly cache: CacheHealthIndicator,
    private readonly circuits: CircuitsHealthIndicator,
  ) {}

  /** Readiness: is this instance fit to receive traffic? */
  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: database and pool; 503 when one is down' })
  readiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    const indicators: HealthIndicatorFunction[] = [
      () => this.database.isHealthy('database'),
      () => this.pool.isHealthy('pool'),
    ];
    if (this.cache.isAvailable()) indicators.push(() => this.cache.isHealthy('cache'));
    if (this.circuits.isAvailable()) indicators.push(() => this.circuits.isHealthy('circuits'));
    return this.run(reply, indicators);
  }

  /** Liveness: answers while the process serves requests; checks no dependency. */
  @Get('live')
  @Header('Cache-Control', HEALTH_CACHE_CONTROL)
  @ApiOperation({ summary: 'Liveness: 200 while the process serves; touches no dependency' })
  @ApiOkResponse({ description: 'The process is serving', schema: LIVENESS_SCHEMA })
  liveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** The database alone: mode, probe latency, file base name, schema version and pool statistics. */
  @Get('database')
  @HealthCheck()
  @ApiOperation({ summary: 'Database probe (SELECT 1) with mode, latency, file and pool' })
  databaseHealth(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.run(reply, [() => this.database.isHealthy('database')]);
  }

  /** The pool's statistics as they are; always 200. */
  @Get('pool')
  @Header('Cache-Control', HEALTH_CACHE_CONTROL)
  @ApiOperation({ summary: 'Connection pool statistics' })
  @ApiOkResponse({ description: 'Pool statistics', schema: POOL_STATS_SCHEMA })
  poolStats(): PoolStats {
    return this.duckDbPool.stats();
  }

  /** The query cache's counters; always 200 while the application has a cache. */
  @Get('cache')
  @Header('Cache-Control', HEALTH_CACHE_CONTROL)
  @ApiOperation({
    summary: 'Query cache: store, connected, hits, misses, hit ratio, errors, bypassed',
  })
  cacheStats(): Pick<
    QueryCacheStats,
    'store' | 'connected' | 'hits' | 'misses' | 'hitRatio' | 'errors' | 'bypassed'
  > {
    const stats = this.cache.stats();
    if (!stats) throw new NotFoundException();
    // Exactly the fields of API.md §3; the rest (breaker state, stale values discarded) is in /metrics.
    const { store, connected, hits, misses, hitRatio, errors, bypassed } = stats;
    return { store, connected, hits, misses, hitRatio, errors, bypassed };
  }

  /** Every circuit breaker: name, state, failures, successes, rejected, openedAt; always 200. */
  @Get('circuits')
  @Header('Cache-Control', HEALTH_CACHE_CONTROL)
  @ApiOperation({ summary: 'Circuit breakers and their states' })
  circuitStates(): { circuits: CircuitInfo[] } {
    return { circuits: this.circuits.list() };
  }

  private async run(
    reply: FastifyReply,
    indicators: HealthIndicatorFunction[],
  ): Promise<HealthCheckResult> {
    try {
      return await this.health.check(indicators);
    } catch (error) {
      // Terminus reports `error` and `shutting_down` by throwing; answer its body ourselves.
      if (error instanceof ServiceUnavailableException) {
        void reply.status(503);
        return error.getResponse() as HealthCheckResult;
      }
      throw error;
    }
  }
}
