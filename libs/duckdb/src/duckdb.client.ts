import { Injectable } from '@nestjs/common';
import { transactionStorage, type TransactionState } from './duckdb.context';
import {
  DatabaseUnavailableError,
  type StatementContext,
  TransactionClosedError,
  TransactionConflictError,
  UnexpectedRollbackError,
  classifyDriverError,
} from './duckdb.errors';
import type { ExecuteResult, Row, SqlParam } from './duckdb.interfaces';
import { DuckDbPool } from './pool/duckdb-pool';
import type { PooledConnection, StatementMode } from './pool/pooled-connection';

/** Options of {@link DuckDbClient.transaction}. */
export interface TransactionOptions {
  /** `BEGIN TRANSACTION READ ONLY`: any write inside fails. Default `false`. */
  readOnly?: boolean;
  /**
   * Reruns of the whole unit after a write-write conflict (only when this call owns the
   * transaction), with exponential backoff and full jitter. Default 0.
   */
  retries?: number;
}

const NO_PARAMS: readonly SqlParam[] = [];

/**
 * The database facade. Outside a transaction each call borrows a pooled connection for one
 * statement; inside one (started by {@link transaction} or by `@lib/transactions`) every call in that
 * async context runs on the transaction's connection.
 *
 * Parameters are positional (`$1`, `$2`, …); statements are prepared once per connection and reused.
 *
 * @example
 * const rows = await db.query<{ id: string }>('SELECT id FROM model_configs WHERE provider = $1', ['ollama']);
 */
@Injectable()
export class DuckDbClient {
  constructor(private readonly pool: DuckDbPool) {}

  /** Runs a statement and returns its rows as plain, JSON-safe objects. */
  query<T = Row>(sql: string, params: readonly SqlParam[] = NO_PARAMS): Promise<T[]> {
    return this.run(sql, params, 'rows', 'query') as Promise<T[]>;
  }

  /** Runs a statement and returns its first row, or `undefined` when there is none. */
  async queryOne<T = Row>(sql: string, params: readonly SqlParam[] = NO_PARAMS): Promise<T | undefined> {
    const rows = (await this.run(sql, params, 'rows', 'queryOne')) as T[];
    return rows[0];
  }

  /** Runs a write statement and returns how many rows it changed. */
  async execute(sql: string, params: readonly SqlParam[] = NO_PARAMS): Promise<ExecuteResult> {
    const rowsChanged = (await this.run(sql, params, 'execute', 'execute')) as number;
    return { rowsChanged };
  }

  /** True when called inside a transaction. */
  isInTransaction(): boolean {
    return transactionStorage.getStore()?.active === true;
  }

  /**
   * Runs `fn` in a transaction on one pinned connection: `BEGIN`, then `COMMIT` when `fn` resolves,
   * `ROLLBACK` when it rejects. Called inside a transaction, `fn` joins it. When any statement failed
   * inside the transaction, even one whose error `fn` caught, it is rolled back and
   * `UnexpectedRollbackError` is thrown: DuckDB would report a successful commit that stored nothing.
   */
  async transaction<T>(fn: () => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const current = transactionStorage.getStore();
    if (current?.active) {
      if (current.readOnly && !options.readOnly) {
        throw new TypeError('A read-write transaction cannot join a read-only one.');
      }
      return fn();
    }
    const retries = options.retries ?? 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.pool.withConnection((connection) =>
          this.runTransaction(connection, fn, options.readOnly === true),
        );
      } catch (error) {
        if (!(error instanceof TransactionConflictError) || attempt >= retries) throw error;
        await sleep(Math.random() * Math.min(1000, 10 * 2 ** attempt));
      }
    }
  }

  private async runTransaction<T>(
    connection: PooledConnection,
    fn: () => Promise<T>,
    readOnly: boolean,
  ): Promise<T> {
    const state: TransactionState = { connection, readOnly, rollbackOnly: false, active: true };
    const context: StatementContext = { operation: 'transaction' };
    await connection.run(readOnly ? 'BEGIN TRANSACTION READ ONLY' : 'BEGIN TRANSACTION', NO_PARAMS, 'script', context);
    let result: T;
    try {
      result = await transactionStorage.run(state, fn);
    } catch (error) {
      state.active = false;
      await this.rollback(connection);
      throw error;
    }
    state.active = false;
    if (state.rollbackOnly) {
      await this.rollback(connection);
      throw state.rollbackCause instanceof TransactionConflictError
        ? state.rollbackCause
        : new UnexpectedRollbackError({ cause: state.rollbackCause });
    }
    try {
      await connection.run('COMMIT', NO_PARAMS, 'script', { operation: 'commit' });
    } catch (error) {
      await this.rollback(connection);
      throw error;
    }
    return result;
  }

  private async rollback(connection: PooledConnection): Promise<void> {
    try {
      await connection.run('ROLLBACK', NO_PARAMS, 'script', { operation: 'rollback' });
    } catch {
      // Nothing to roll back (a failed COMMIT already ended the transaction).
    }
  }

  private async run(
    sql: string,
    params: readonly SqlParam[],
    mode: StatementMode,
    operation: string,
  ): Promise<unknown> {
    const context: StatementContext = { operation, sql, paramCount: params.length };
    const tx = transactionStorage.getStore();
    if (tx) {
      if (!tx.active) throw new TransactionClosedError();
      try {
        return await tx.connection.run(sql, params, mode as 'rows', context);
      } catch (error) {
        if (!tx.rollbackOnly) {
          tx.rollbackOnly = true;
          tx.rollbackCause = error;
        }
        throw error;
      }
    }
    try {
      return await this.pool.withConnection((c) => c.run(sql, params, mode as 'rows', context));
    } catch (error) {
      // A connection found broken mid-read was replaced; a read outside a
      // transaction is safe to run once more on a healthy one (a write is not: it may have landed).
      if (error instanceof DatabaseUnavailableError && mode === 'rows') {
        return this.pool.withConnection((c) => c.run(sql, params, mode as 'rows', context));
      }
      throw classifyDriverError(error, context);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
