/** Connection-pool settings of {@link DuckDbModuleOptions}. */
export interface DuckDbPoolOptions {
  /**
   * Feature flag. `false` replaces the pool with one shared connection and a FIFO queue
   * (the behaviour of the original single-connection client). Default `true`.
   */
  enabled?: boolean;
  /** Connections kept open even when idle. Default 1. */
  min?: number;
  /** Upper bound of open connections. Default 4 (2–4 is right on a 2-core machine). */
  max?: number;
  /** How long `acquire()` waits for a free connection before `PoolAcquireTimeoutError`. Default 5000 ms. */
  acquireTimeoutMs?: number;
  /** Idle connections above `min` are closed after this long. Default 300000 ms. */
  idleTimeoutMs?: number;
  /** An idle connection is validated (`SELECT 1`) by the sweeper once idle this long. Default 30000 ms. */
  healthCheckAfterIdleMs?: number;
}

/** Migration settings of {@link DuckDbModuleOptions}. */
export interface DuckDbMigrationOptions {
  /** Folder of `NNNN_name.sql` files, applied in version order at startup. */
  directory: string;
}

/** Options of `DuckDbModule.forRoot` / `forRootAsync`. */
export interface DuckDbModuleOptions {
  /** Database file; a missing parent directory is created. `:memory:` for an in-memory database. Default `:memory:`. */
  path?: string;
  /** Pool settings; see {@link DuckDbPoolOptions}. */
  pool?: DuckDbPoolOptions;
  /** A statement running longer than this is interrupted (`QueryTimeoutError`). `0` disables. Default 10000 ms. */
  queryTimeoutMs?: number;
  /** Prepared statements kept per connection (least recently used evicted). Default 64. */
  statementCacheSize?: number;
  /** DuckDB configuration options passed to the instance, e.g. `{ threads: '1', memory_limit: '1GB' }`. */
  config?: Record<string, string>;
  /** Versioned SQL migrations to apply at startup. */
  migrations?: DuckDbMigrationOptions;
  /** Transaction defaults: conflict retries and their backoff. */
  transactions?: TransactionManagerOptions;
}

/** Fully resolved options (every default applied). */
export interface ResolvedDuckDbOptions {
  path: string;
  pool: Required<DuckDbPoolOptions>;
  queryTimeoutMs: number;
  statementCacheSize: number;
  config: Record<string, string>;
  migrations?: DuckDbMigrationOptions;
  transactions: TransactionManagerOptions;
}

/** A positional statement parameter (`$1`, `$2`, …). Dates are bound as ISO-8601 strings. */
export type SqlParam = string | number | boolean | bigint | Date | null;

/** The result of `DuckDbClient.execute`. */
export interface ExecuteResult {
  /** Rows inserted, updated or deleted by the statement. */
  rowsChanged: number;
}

/**
 * A row as returned by `DuckDbClient.query`: JSON-safe values only. `BIGINT`/`HUGEINT` come back as
 * numbers when they fit in a double exactly and as decimal strings otherwise, timestamps as ISO-8601
 * strings, `JSON` columns parsed.
 */
export type Row = Record<string, unknown>;

/** Pool statistics, the body of `GET /health/pool`. */
export interface PoolStats {
  enabled: boolean;
  min: number;
  max: number;
  size: number;
  idle: number;
  inUse: number;
  waiting: number;
  created: number;
  acquired: number;
  released: number;
  timeouts: number;
  healthChecks: number;
  healthCheckFailures: number;
  avgAcquireMs: number;
  maxAcquireMs: number;
}

/** What a {@link DuckDbCallGuard} knows about the statement it guards. */
export interface DuckDbCallInfo {
  /** `query`, `queryOne` or `execute`. */
  operation: string;
  /** True for statements that return rows (`query`, `queryOne`): safe to retry outside a transaction. */
  returnsRows: boolean;
  /** True inside a transaction: the guard must not rerun the statement (the owner reruns the unit). */
  inTransaction: boolean;
}

/**
 * Wraps every `DuckDbClient` statement (circuit breaker, retries of reads, …). Registered under
 * `DUCKDB_CALL_GUARD`; `@lib/resilience` provides one.
 */
export interface DuckDbCallGuard {
  run<T>(call: () => Promise<T>, info: DuckDbCallInfo): Promise<T>;
}

/**
 * Test affordance: called before every statement reaches the driver; an error it returns is
 * thrown as if the driver had raised it (and classified the same way).
 */
export type FaultInjector = (sql: string) => Error | undefined;

/**
 * Settings of the transaction engine (`@lib/transactions`' `TransactionManager`), given as
 * `DuckDbModule.forRoot({ transactions })` and handed to it through `DUCKDB_TRANSACTION_OPTIONS`.
 */
export interface TransactionManagerOptions {
  /** Conflict reruns when a scope does not say. Default 0. */
  defaultRetries?: number;
  /** First backoff step (ms) before a rerun; doubles per attempt, full jitter. Default 10. */
  retryBaseDelayMs?: number;
  /** Backoff cap (ms). Default 1000. */
  retryMaxDelayMs?: number;
  /** Random source in [0, 1) for jitter (tests pass their own). Default `Math.random`. */
  random?: () => number;
}
