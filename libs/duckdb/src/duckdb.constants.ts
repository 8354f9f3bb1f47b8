/** Injection token of the shared `DuckDBInstance` (one per database file per process). */
export const DUCKDB_INSTANCE = 'DUCKDB:INSTANCE';

/** Default options, applied by `resolveDuckDbOptions` where the caller sets nothing. */
export const DUCKDB_DEFAULTS = {
  path: ':memory:',
  pool: {
    enabled: true,
    min: 1,
    max: 4,
    acquireTimeoutMs: 5_000,
    idleTimeoutMs: 300_000,
    healthCheckAfterIdleMs: 30_000,
  },
  queryTimeoutMs: 10_000,
  statementCacheSize: 64,
} as const;

/**
 * Optional injection token of a {@link DuckDbCallGuard}: when a provider is registered under it
 * (as `@lib/resilience` does), every `DuckDbClient` statement runs through it.
 */
export const DUCKDB_CALL_GUARD = 'DUCKDB:CALL_GUARD';

/** The `transactions` options of `DuckDbModule.forRoot`, for the engine in `@lib/transactions`. */
export const DUCKDB_TRANSACTION_OPTIONS = 'DUCKDB:TRANSACTION_OPTIONS';
