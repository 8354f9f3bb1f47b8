import { mkdirSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DatabaseUnavailableError } from './duckdb.errors';
import type { ResolvedDuckDbOptions } from './duckdb.interfaces';

/** Facts about the open database, for health endpoints and logs. */
export class DuckDbDatabase {
  /** Schema version after migrations (0 when the module runs none). */
  schemaVersion = 0;
  /** How many times {@link reopen} replaced an invalidated instance. */
  reopened = 0;
  private current: DuckDBInstance;
  private closed = false;

  constructor(
    instance: DuckDBInstance,
    private readonly options: ResolvedDuckDbOptions,
  ) {
    this.current = instance;
  }

  /** The one instance for this file in this process (a new one after {@link reopen}). */
  get instance(): DuckDBInstance {
    return this.current;
  }

  /**
   * Replaces an instance that DuckDB invalidated (after a fatal error such as a checkpoint that
   * could not write its file, e.g. on a full disk) with a fresh one on the same file: closes the
   * old instance, then opens the file again, which replays the WAL exactly as a process restart
   * would. Every connection of the old instance is unusable afterwards; the pool replaces them.
   * Rejects (the old instance stays closed) when the file cannot be opened yet; call it again
   * later. Never used for `:memory:` (a new instance would be empty).
   */
  async reopen(): Promise<DuckDBInstance> {
    if (this.inMemory) throw new Error('An in-memory database cannot be reopened.');
    this.close();
    const instance = await DuckDBInstance.create(
      this.options.path,
      withSafeOptimizers(this.options.config),
    );
    this.current = instance;
    this.closed = false;
    this.reopened++;
    return instance;
  }

  /** Closes the current instance. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.current.closeSync();
  }

  /** True for `:memory:`. */
  get inMemory(): boolean {
    return isInMemory(this.options.path);
  }

  /** The database file's base name (never its directory), or `:memory:`. */
  get file(): string {
    return this.inMemory ? ':memory:' : basename(this.options.path);
  }

  /** `pool` or `single` (the `DUCKDB_POOL_ENABLED=false` feature flag). */
  get mode(): 'pool' | 'single' {
    return this.options.pool.enabled ? 'pool' : 'single';
  }

  /** Opens the database file, creating its parent directory. */
  static async open(options: ResolvedDuckDbOptions): Promise<DuckDbDatabase> {
    const path = options.path;
    if (!isInMemory(path)) mkdirSync(dirname(resolve(path)), { recursive: true });
    try {
      const instance = await DuckDBInstance.create(path, withSafeOptimizers(options.config));
      return new DuckDbDatabase(instance, options);
    } catch (error) {
      const message = (error as Error).message;
      const hint = /lock/i.test(message)
        ? 'Another process holds the file open: stop it, or point DUCKDB_PATH at another file.'
        : 'Check DUCKDB_PATH and the DuckDB settings.';
      throw new DatabaseUnavailableError({
        message: `Cannot open the DuckDB database: ${message} ${hint}`,
        cause: error,
      });
    }
  }
}

/**
 * Optimizers that plan from table statistics at PREPARE time. A prepared statement reused after
 * the data changed then returns wrong rows with DuckDB 1.5 (measured: `ORDER BY slot` read
 * 1000 as 232 through compressed materialization; `WHERE pr > 5` prepared while every `pr` was 1
 * kept returning nothing after 900 was inserted; `DELETE … WHERE k = 'a'` prepared on an empty
 * table later deleted nothing). Prepared statements are reused here, so these are always
 * disabled, on top of any the caller disables; `duckdb.client.spec.ts` checks all three.
 */
export const STALE_PLAN_OPTIMIZERS = ['compressed_materialization', 'statistics_propagation'];

function withSafeOptimizers(config: Record<string, string>): Record<string, string> {
  const disabled = new Set(
    (config.disabled_optimizers ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  );
  for (const name of STALE_PLAN_OPTIMIZERS) disabled.add(name);
  return { ...config, disabled_optimizers: [...disabled].join(',') };
}

function isInMemory(path: string): boolean {
  return path === ':memory:' || path === '';
}
