import { withTimeout } from '@lib/common';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import {
  HealthIndicatorService,
  type HealthIndicatorResult,
  type HealthIndicatorStatus,
} from '@nestjs/terminus';
import {
  DuckDbClient,
  DuckDbDatabase,
  DuckDbError,
  DuckDbPool,
  PoolAcquireTimeoutError,
  PoolDrainingError,
  type PoolStats,
} from '@lib/duckdb';
import { TransactionManager, type TransactionStats } from '@lib/transactions';
import { HEALTH_DEFAULTS } from './health.constants';
import type { HealthModuleOptions } from './health.interfaces';
import { HEALTH_MODULE_OPTIONS } from './health.module-definition';

/** What the `database` indicator reports besides `status` (and `message` when down). */
export type DatabaseHealthDetails = {
  /** `pool`, or `single` when the pool feature flag is off. */
  mode: 'pool' | 'single';
  /** How long the probe took (or waited before giving up), in milliseconds. */
  latencyMs: number;
  /** The database file's base name, never its directory; `:memory:` for an in-memory database. */
  file: string;
  /** True for `:memory:`. */
  inMemory: boolean;
  /** Schema version after migrations (0 when none ran). */
  schemaVersion: number;
  /** The pool's statistics at the end of the probe. */
  pool: PoolStats;
  /** Transactions: started, committed, rolled back, retried, conflicts, timeouts, durations. */
  transactions?: TransactionStats;
};

/** Raised inside the indicator when the probe outruns `databaseTimeoutMs`; never leaves it. */
class ProbeTimeoutError extends Error {}

/**
 * Terminus indicator for the DuckDB database: runs `SELECT 1` through {@link DuckDbClient.query},
 * bounded by `databaseTimeoutMs` (the wait for a pooled connection included).
 *
 * It is `down`, with a short `message` that never contains SQL or file paths, when the probe fails
 * or does not answer in time; it never throws, so a failing database gives a 503, not a 500. The
 * full error goes to the log. Probes do not pile up behind a stuck database: while one is still
 * in flight, later checks wait for that one instead of queueing another `SELECT 1`.
 *
 * @example
 * this.health.check([() => this.database.isHealthy('database')]);
 */
@Injectable()
export class DatabaseHealthIndicator {
  private readonly logger = new Logger(DatabaseHealthIndicator.name);
  private readonly timeoutMs: number;
  private inFlight: Promise<unknown> | undefined;

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly client: DuckDbClient,
    private readonly pool: DuckDbPool,
    private readonly database: DuckDbDatabase,
    @Inject(HEALTH_MODULE_OPTIONS) options: HealthModuleOptions,
    /** Absent without `TransactionsModule`: the details then carry no transaction statistics. */
    @Optional() private readonly transactions?: TransactionManager,
  ) {
    const timeoutMs = options.databaseTimeoutMs ?? HEALTH_DEFAULTS.databaseTimeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
      throw new RangeError(
        `Health option databaseTimeoutMs must be a positive integer (milliseconds), got ${timeoutMs}`,
      );
    }
    this.timeoutMs = timeoutMs;
  }

  /**
   * Probes the database and reports it under `key` (default `database`), with
   * {@link DatabaseHealthDetails}.
   */
  async isHealthy<const Key extends string = 'database'>(
    key: Key = 'database' as Key,
  ): Promise<
    HealthIndicatorResult<Key, HealthIndicatorStatus, DatabaseHealthDetails & { message?: string }>
  > {
    const indicator = this.health.check(key);
    const started = performance.now();
    try {
      await this.probe();
      return indicator.up(this.details(started));
    } catch (error) {
      this.logger.warn(`Database health probe failed: ${describeError(error)}`);
      return indicator.down({ message: this.safeMessage(error), ...this.details(started) });
    }
  }

  private details(started: number): DatabaseHealthDetails {
    return {
      mode: this.database.mode,
      latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
      file: this.database.file,
      inMemory: this.database.inMemory,
      schemaVersion: this.database.schemaVersion,
      pool: this.pool.stats(),
      transactions: this.transactions?.stats(),
    };
  }

  private async probe(): Promise<void> {
    this.inFlight ??= this.client
      .query('SELECT 1 AS ok')
      .finally(() => (this.inFlight = undefined));
    await withTimeout(
      this.inFlight,
      this.timeoutMs,
      () => new ProbeTimeoutError(`no answer within ${this.timeoutMs} ms`),
    );
  }

  /** A message fit for a response body: it names the failure, never SQL, parameters or paths. */
  private safeMessage(error: unknown): string {
    if (error instanceof ProbeTimeoutError) {
      return `The database did not answer within ${this.timeoutMs} ms.`;
    }
    if (error instanceof PoolDrainingError) return 'The database pool is shutting down.';
    if (error instanceof PoolAcquireTimeoutError) {
      return 'No database connection became free in time.';
    }
    if (error instanceof DuckDbError) return `The database probe failed (${error.name}).`;
    return 'The database probe failed.';
  }
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}
