import { withTimeout } from '@lib/common';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  HealthIndicatorService,
  type HealthIndicatorResult,
  type HealthIndicatorStatus,
} from '@nestjs/terminus';
import { DuckDbPool, PoolDrainingError, type PoolStats } from '@lib/duckdb';
import { HEALTH_DEFAULTS } from './health.constants';
import type { HealthModuleOptions } from './health.interfaces';
import { HEALTH_MODULE_OPTIONS } from './health.module-definition';

/**
 * Terminus indicator for the DuckDB connection pool; reports {@link DuckDbPool.stats} as its data.
 *
 * What makes it `down`:
 * - callers waited past the acquire timeout `poolTimeoutThreshold` times or more (default 3) in the
 *   last `poolTimeoutWindowMs` (default 30 s): requests are failing with 503 for want of a
 *   connection, so this instance should leave rotation until it recovers; or
 * - the pool holds no open connection (`size` 0) **and** a connection cannot be borrowed within
 *   `databaseTimeoutMs`, because the pool is draining (shutdown) or no connection can be opened.
 *
 * A busy pool whose callers wait but get served stays `up`. (`size` 0 is also normal for an idle
 * pool with `min` 0; the borrow then opens a connection and the pool is `up`.) It never throws.
 *
 * @example
 * this.health.check([() => this.pool.isHealthy('pool')]);
 */
@Injectable()
export class PoolHealthIndicator {
  private readonly logger = new Logger(PoolHealthIndicator.name);
  private readonly timeoutMs: number;
  private readonly timeoutThreshold: number;
  private readonly timeoutWindowMs: number;

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly pool: DuckDbPool,
    @Inject(HEALTH_MODULE_OPTIONS) options: HealthModuleOptions,
  ) {
    this.timeoutMs = options.databaseTimeoutMs ?? HEALTH_DEFAULTS.databaseTimeoutMs;
    this.timeoutThreshold = options.poolTimeoutThreshold ?? HEALTH_DEFAULTS.poolTimeoutThreshold;
    this.timeoutWindowMs = options.poolTimeoutWindowMs ?? HEALTH_DEFAULTS.poolTimeoutWindowMs;
  }

  /** Reports the pool under `key` (default `pool`), with its statistics. */
  async isHealthy<const Key extends string = 'pool'>(
    key: Key = 'pool' as Key,
  ): Promise<HealthIndicatorResult<Key, HealthIndicatorStatus, PoolStats & { message?: string }>> {
    const indicator = this.health.check(key);
    const before = this.pool.stats();
    const recentTimeouts = this.pool.timeoutsWithin(this.timeoutWindowMs);
    if (recentTimeouts >= this.timeoutThreshold) {
      return indicator.down({
        message: `Callers waited past the acquire timeout ${recentTimeouts} times in the last ${Math.round(this.timeoutWindowMs / 1000)} s.`,
        ...before,
      });
    }
    if (before.size > 0) return indicator.up({ ...before });
    try {
      await this.borrowOnce();
      return indicator.up({ ...this.pool.stats() });
    } catch (error) {
      this.logger.warn(`Pool health probe failed: ${String(error)}`);
      const message =
        error instanceof PoolDrainingError
          ? 'The database pool is shutting down.'
          : 'The pool has no connection and could not open one in time.';
      return indicator.down({ message, ...this.pool.stats() });
    }
  }

  /** Borrows and returns one connection, giving up after `databaseTimeoutMs`. */
  private borrowOnce(): Promise<void> {
    return withTimeout(
      this.pool.withConnection(() => Promise.resolve()),
      this.timeoutMs,
      () => new Error('pool borrow timed out'),
    );
  }
}
