import type { TransactionOptions } from './transactions/transaction.options';

/**
 * The seam between `@lib/duckdb` and the transaction engine of `@lib/transactions`:
 * `DuckDbClient.transaction()` runs its callback through whatever provides this (the engine's
 * `TransactionManager`, registered by `TransactionsModule`). `@lib/duckdb` itself only keeps the
 * connection-level part: the ambient transaction's store (`transactionStorage`), statements
 * routed to its connection, and `markRollbackOnly` on a failed statement.
 */
export abstract class TransactionRunner {
  /** Runs `fn` in a transactional scope as `options` say (join, begin, suspend, …). */
  abstract run<T>(options: TransactionOptions, fn: () => Promise<T>): Promise<T>;
}
