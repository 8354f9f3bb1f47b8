import { Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { QueryCache, type QueryCacheStats } from '@lib/query-cache';

/**
 * Terminus indicator for the query cache. It is always `up`: a cache outage degrades the service
 * (reads go to the database), it does not take it out of rotation. While the store is unreachable
 * or its breaker is open it reports `degraded: true` and `connected: false`.
 *
 * Present only when `QueryCacheModule` is registered globally; otherwise {@link isAvailable} is false.
 */
@Injectable()
export class CacheHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Optional() private readonly cache?: QueryCache,
  ) {}

  /** True when the application has a query cache. */
  isAvailable(): boolean {
    return this.cache !== undefined;
  }

  /** The cache's counters, or `undefined` without a cache. */
  stats(): QueryCacheStats | undefined {
    return this.cache?.stats();
  }

  /** Reports the cache under `key` (default `cache`): up, with `degraded` and the counters. */
  isHealthy<const Key extends string = 'cache'>(
    key: Key = 'cache' as Key,
  ): HealthIndicatorResult<Key, 'up', QueryCacheStats & { degraded: boolean }> {
    const stats = this.cache?.stats();
    const details = stats
      ? { ...stats, degraded: !stats.connected }
      : ({ degraded: false } as QueryCacheStats & { degraded: boolean });
    return this.health.check(key).up(details);
  }
}
