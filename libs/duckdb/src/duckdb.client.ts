import { Inject, Injectable, Optional } from '@nestjs/common';
import { DUCKDB_CALL_GUARD } from './duckdb.constants';
import { currentTransaction, markRollbackOnly, transactionStorage } from './duckdb.context';
import {
  DatabaseUnavailableError,
  IllegalTransactionStateError,
  type StatementContext,
  TransactionClosedError,
  TransactionTimeoutError,
} from './duckdb.errors';
import { classifyDriverError } from './duckdb.error-classification';
import type { DuckDbCallGuard, ExecuteResult, Row, SqlParam } from './duckdb.interfaces';
import { DuckDbPool } from './pool/duckdb-pool';
import type { StatementMode } from './pool/pooled-connection';
import { TransactionRunner } from './transaction-runner';
import type { TransactionOptions } from './transactions/transaction.options';

const NO_PARAMS: readonly SqlParam[] = [];

/**
 * The database facade. Outside a transaction each call borrows a pooled connection for one
 * statement; inside one (started by {@link transaction}, `@Transactional` or the interceptor)
 * every call in that async context runs on the transaction's connection.
 *
 * Parameters are positional (`$1`, `$2`, …); statements are prepared once per connection and reused.
 *
 * @example
 * const rows = await db.query<{ id: string }>('SELECT id FROM model_configs WHERE provider = $1', ['ollama']);
 */
@Injectable()
export class DuckDbClient {
  /**
   * In Nest the transaction runner is `TransactionsModule`'s engine; outside Nest:
   * `new DuckDbClient(pool, new TransactionManager(pool))` (`@lib/transactions`).
   */
  constructor(
    private readonly pool: DuckDbPool,
    @Optional() private readonly transactions?: TransactionRunner,
    @Optional() @Inject(DUCKDB_CALL_GUARD) private readonly guard?: DuckDbCallGuard,
  ) {}

  /** Runs a statement and returns its rows as plain, JSON-safe objects. */
  query<T = Row>(sql: string, params: readonly SqlParam[] = NO_PARAMS): Promise<T[]> {
    return this.run(sql, params, 'rows', 'query') as Promise<T[]>;
  }

  /** Runs a statement and returns its first row, or `undefined` when there is none. */
  async queryOne<T = Row>(
    sql: string,
    params: readonly SqlParam[] = NO_PARAMS,
  ): Promise<T | undefined> {
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
    return currentTransaction() !== undefined;
  }

  /**
   * Runs `fn` in a transaction on one pinned connection: `BEGIN`, then `COMMIT` when `fn` resolves,
   * `ROLLBACK` when it rejects. Inside a transaction, `fn` joins it (propagation `Required` unless
   * `options` says otherwise). When any statement failed inside the transaction, even one whose
   * error `fn` caught, it is rolled back and `UnexpectedRollbackError` is thrown: DuckDB would
   * report a successful commit that stored nothing.
   *
   * The engine is `@lib/transactions`' (import `TransactionsModule`), the same machinery as
   * `@Transactional` and `TransactionInterceptor`.
   * @throws IllegalTransactionStateError when no transaction engine is provided.
   */
  transaction<T>(fn: () => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (!this.transactions) {
      return Promise.reject(
        new IllegalTransactionStateError({
          message:
            'DuckDbClient.transaction() needs the transaction engine: import TransactionsModule from @lib/transactions.',
        }),
      );
    }
    return this.transactions.run(options, fn);
  }

  private run(
    sql: string,
    params: readonly SqlParam[],
    mode: StatementMode,
    operation: string,
  ): Promise<unknown> {
    if (!this.guard) return this.runUnguarded(sql, params, mode, operation);
    return this.guard.run(() => this.runUnguarded(sql, params, mode, operation), {
      operation,
      returnsRows: mode === 'rows',
      inTransaction: transactionStorage.getStore() != null,
    });
  }

  private async runUnguarded(
    sql: string,
    params: readonly SqlParam[],
    mode: StatementMode,
    operation: string,
  ): Promise<unknown> {
    const context: StatementContext = { operation, sql, paramCount: params.length };
    const tx = transactionStorage.getStore();
    if (tx) {
      if (!tx.active) throw new TransactionClosedError();
      if (tx.timedOut) throw new TransactionTimeoutError({ timeoutMs: tx.timeoutMs ?? 0 });
      try {
        return await tx.connection.run(sql, params, mode as 'rows', context);
      } catch (error) {
        // DuckDB treats the transaction as aborted now, and would "commit" it storing nothing.
        markRollbackOnly(tx, error);
        throw error;
      }
    }
    try {
      return await this.pool.withConnection((c) => c.run(sql, params, mode as 'rows', context));
    } catch (error) {
      // A connection found broken mid-read was replaced; a read outside a transaction is safe
      // to run once more on a healthy one (a write is not: it may have landed). With a guard
      // (`@lib/resilience`), its retry policy owns this decision instead.
      if (!this.guard && error instanceof DatabaseUnavailableError && mode === 'rows') {
        return this.pool.withConnection((c) => c.run(sql, params, mode as 'rows', context));
      }
      throw classifyDriverError(error, context);
    }
  }
}
