import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import {
  DatabaseUnavailableError,
  QueryFailedError,
  QueryTimeoutError,
  type StatementContext,
} from '../duckdb.errors';
import {
  classifyDriverError,
  isBrokenConnectionError,
  isInvalidatedError,
} from '../duckdb.error-classification';
import type { FaultInjector, Row, SqlParam } from '../duckdb.interfaces';
import { statementSignalStorage } from '../statement-signal';
import { readMaterialized, toDriverParams } from '../duckdb.rows';

/** What a statement returns: rows (`query`), a change count (`execute`), or nothing (`script`). */
export type StatementMode = 'rows' | 'execute' | 'script';

/** Options of one {@link PooledConnection}. */
export interface PooledConnectionOptions {
  queryTimeoutMs: number;
  statementCacheSize: number;
  /** Shared with the pool: its current fault injector, if any (tests only). */
  faults?: { injector?: FaultInjector };
}

/**
 * One DuckDB connection owned by the pool. It runs exactly one statement at a time: statements
 * submitted concurrently (for example by `Promise.all` branches inside one transaction) queue on the
 * connection, because DuckDB silently returns wrong rows when two statements share a connection.
 * Prepared statements are cached per connection (least recently used evicted), so each belongs to
 * one connection and, through the queue, to one caller at a time.
 */
export class PooledConnection {
  /** Set when a driver error shows the connection is unusable; the pool then replaces it. */
  broken = false;
  /**
   * Set when a statement reported the whole database invalidated (DuckDB's state after a fatal
   * error): the pool then reopens the database, since no connection of this instance will work.
   */
  invalidated = false;
  /** Which instance of the database this connection belongs to (the pool's count of reopens). */
  generation = 0;
  /** When the connection was last handed back to the pool (the pool clock's ms; the pool sets it). */
  idleSince = 0;
  private tail: Promise<unknown> = Promise.resolve();
  /** Statements queued or running on this connection. */
  private pending = 0;
  private readonly settle = (): void => {
    this.pending--;
  };
  private readonly statements = new Map<string, DuckDBPreparedStatement>();
  private closed = false;
  /** The statement running now (one at a time), for the watchdog. */
  private running: { timedOut: boolean } | undefined;
  /**
   * One timer per connection, re-armed with `refresh()` for each statement (cheaper than a new
   * timer per statement); when it fires with a statement still running, that statement is
   * interrupted. It never keeps the process alive.
   */
  private watchdog: NodeJS.Timeout | undefined;
  private mostRecentSql: string | undefined;

  constructor(
    /** Pool-unique number, for logs and tests. */
    readonly id: number,
    /** The driver connection, for work the facade does not cover (appenders, …). */
    readonly raw: DuckDBConnection,
    private readonly options: PooledConnectionOptions,
  ) {}

  /**
   * Runs one statement after every statement queued before it on this connection has settled.
   * Driver errors are classified into `DuckDbError` subclasses.
   */
  run(
    sql: string,
    params: readonly SqlParam[],
    mode: 'rows',
    context: StatementContext,
  ): Promise<Row[]>;
  run(
    sql: string,
    params: readonly SqlParam[],
    mode: 'execute',
    context: StatementContext,
  ): Promise<number>;
  run(
    sql: string,
    params: readonly SqlParam[],
    mode: 'script',
    context: StatementContext,
  ): Promise<void>;
  run(
    sql: string,
    params: readonly SqlParam[],
    mode: StatementMode,
    context: StatementContext,
  ): Promise<unknown> {
    // With nothing queued, start at once (no extra hop through the queue).
    this.pending++;
    const result =
      this.pending === 1
        ? this.runNow(sql, params, mode, context)
        : this.tail.then(() => this.runNow(sql, params, mode, context));
    this.tail = result.then(this.settle, this.settle);
    return result;
  }

  private armWatchdog(timeoutMs: number): void {
    if (timeoutMs <= 0) return;
    if (this.watchdog) {
      this.watchdog.refresh();
      return;
    }
    this.watchdog = setTimeout(() => {
      if (!this.running) return;
      this.running.timedOut = true;
      this.interrupt();
    }, timeoutMs);
    this.watchdog.unref();
  }

  /** Resolves once every statement queued so far on this connection has settled. */
  settled(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : (this.tail as Promise<void>);
  }

  /** True while statements are queued or running. */
  get busy(): boolean {
    return this.pending > 0;
  }

  /** Interrupts the statement running on this connection, if any. */
  interrupt(): void {
    if (!this.closed) this.raw.interrupt();
  }

  /** Destroys cached prepared statements and closes the driver connection. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.watchdog) clearTimeout(this.watchdog);
    for (const statement of this.statements.values()) statement.destroySync();
    this.statements.clear();
    this.raw.closeSync();
  }

  /** Prepared statements currently cached on this connection. */
  get cachedStatements(): number {
    return this.statements.size;
  }

  private async runNow(
    sql: string,
    params: readonly SqlParam[],
    mode: StatementMode,
    context: StatementContext,
  ): Promise<unknown> {
    const timeoutMs = this.options.queryTimeoutMs;
    const signal = statementSignalStorage.getStore();
    if (signal?.aborted) throw new QueryTimeoutError({ timeoutMs: timeoutMs, context });
    const running = { timedOut: false };
    const onAbort = () => {
      running.timedOut = true;
      this.interrupt();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.running = running;
    this.armWatchdog(timeoutMs);
    try {
      const fault = this.options.faults?.injector?.(sql);
      if (fault) throw fault;
      if (mode === 'script') {
        await this.raw.run(sql);
        return undefined;
      }
      const statement = await this.prepare(sql);
      if (params.length > 0) statement.bind(toDriverParams(params));
      else statement.clearBindings();
      if (mode === 'execute') return (await statement.run()).rowsChanged;
      // run() materializes the result in one trip to the thread pool; its chunks are then read
      // synchronously (runAndReadAll() costs two more trips per statement).
      return readMaterialized(await statement.run(), statement);
    } catch (error) {
      if (running.timedOut)
        throw new QueryTimeoutError({ timeoutMs: timeoutMs, context, cause: error });
      const classified = classifyDriverError(error, context);
      if (isInvalidatedError(error)) this.invalidated = true;
      if (isBrokenConnectionError(error)) this.broken = true;
      else if (classified instanceof QueryFailedError) this.broken = !(await this.isAlive());
      throw this.broken
        ? new DatabaseUnavailableError({
            message: 'A database connection broke.',
            cause: error,
            context,
          })
        : classified;
    } finally {
      this.running = undefined;
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Probes an unexplained failure: can this connection still run a statement? */
  private async isAlive(): Promise<boolean> {
    try {
      await this.raw.run('SELECT 1');
      return true;
    } catch (error) {
      // Inside an aborted transaction the probe fails too, on a perfectly good connection.
      return !isBrokenConnectionError(error);
    }
  }

  private async prepare(sql: string): Promise<DuckDBPreparedStatement> {
    const cached = this.statements.get(sql);
    if (cached) {
      // Re-insert to mark it most recently used (unless it already is).
      if (this.mostRecentSql !== sql) {
        this.statements.delete(sql);
        this.statements.set(sql, cached);
        this.mostRecentSql = sql;
      }
      return cached;
    }
    const statement = await this.raw.prepare(sql);
    this.statements.set(sql, statement);
    this.mostRecentSql = sql;
    if (this.statements.size > this.options.statementCacheSize) {
      const [oldestSql, oldest] = this.statements.entries().next().value as [
        string,
        DuckDBPreparedStatement,
      ];
      this.statements.delete(oldestSql);
      oldest.destroySync();
    }
    return statement;
  }
}
