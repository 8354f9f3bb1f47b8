import { withoutUndefined } from '@lib/common';
import { DUCKDB_DEFAULTS } from './duckdb.constants';
import type { DuckDbModuleOptions, ResolvedDuckDbOptions } from './duckdb.interfaces';

/** Applies every default to user options and checks their ranges. */
export function resolveDuckDbOptions(options: DuckDbModuleOptions): ResolvedDuckDbOptions {
  const pool = { ...DUCKDB_DEFAULTS.pool, ...withoutUndefined(options.pool ?? {}) };
  const resolved: ResolvedDuckDbOptions = {
    path: options.path ?? DUCKDB_DEFAULTS.path,
    pool,
    queryTimeoutMs: options.queryTimeoutMs ?? DUCKDB_DEFAULTS.queryTimeoutMs,
    statementCacheSize: options.statementCacheSize ?? DUCKDB_DEFAULTS.statementCacheSize,
    config: options.config ?? {},
    migrations: options.migrations,
    transactions: options.transactions ?? {},
  };
  const check = (name: string, value: number, min: number) => {
    if (!Number.isInteger(value) || value < min) {
      throw new RangeError(`DuckDB option ${name} must be an integer ≥ ${min}, got ${value}`);
    }
  };
  check('pool.min', pool.min, 0);
  check('pool.max', pool.max, 1);
  check('pool.acquireTimeoutMs', pool.acquireTimeoutMs, 0);
  check('pool.idleTimeoutMs', pool.idleTimeoutMs, 1);
  check('pool.healthCheckAfterIdleMs', pool.healthCheckAfterIdleMs, 1);
  check('queryTimeoutMs', resolved.queryTimeoutMs, 0);
  check('statementCacheSize', resolved.statementCacheSize, 1);
  if (pool.min > pool.max) {
    throw new RangeError(
      `DuckDB option pool.min (${pool.min}) must not exceed pool.max (${pool.max})`,
    );
  }
  return resolved;
}

/**
 * Sets `UV_THREADPOOL_SIZE` for a pool of `poolMax` connections, unless the operator set it.
 * The driver runs every statement on libuv's thread pool (shared with fs and dns), so it needs a
 * thread per connection plus headroom. Takes effect only before the process's first threadpool
 * I/O: call it first thing in `main.ts`.
 *
 * @returns the size in force.
 */
export function sizeUvThreadPool(poolMax: number, env: NodeJS.ProcessEnv = process.env): number {
  if (!env.UV_THREADPOOL_SIZE) env.UV_THREADPOOL_SIZE = String(Math.max(4, poolMax + 2));
  return Number(env.UV_THREADPOOL_SIZE);
}
