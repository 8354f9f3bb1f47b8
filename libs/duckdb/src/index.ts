export { DuckDbModule } from './duckdb.module';
export { DUCKDB_MODULE_OPTIONS } from './duckdb.module-definition';
export { DUCKDB_CALL_GUARD, DUCKDB_DEFAULTS, DUCKDB_TRANSACTION_OPTIONS } from './duckdb.constants';
export { DuckDbClient } from './duckdb.client';
export { TransactionRunner } from './transaction-runner';
export {
  Propagation,
  type TransactionOptions,
  validateTransactionOptions,
} from './transactions/transaction.options';
export { DuckDbDatabase, STALE_PLAN_OPTIMIZERS } from './duckdb.database';
export { DuckDbPool, type ResolvedPoolOptions } from './pool/duckdb-pool';
export { type CancelTimer, type PoolClock, systemPoolClock } from './pool/pool-clock';
/** The connection a transaction is pinned to (the engine in `@lib/transactions` runs on it). */
export type { PooledConnection, StatementMode } from './pool/pooled-connection';
export {
  currentTransaction,
  markRollbackOnly,
  transactionStorage,
  type TransactionHook,
  type TransactionState,
} from './duckdb.context';
export { statementSignalStorage } from './statement-signal';
export { resolveDuckDbOptions, sizeUvThreadPool } from './duckdb.options';
export { migrate, readMigrations, type MigrationFile } from './migrations/migrator';
export * from './duckdb.errors';
export {
  classifyDriverError,
  isBrokenConnectionError,
  isDriverError,
  isInvalidatedError,
  redactValues,
} from './duckdb.error-classification';
export type * from './duckdb.interfaces';
