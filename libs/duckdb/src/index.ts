export { DuckDbModule } from './duckdb.module';
export { DUCKDB_MODULE_OPTIONS } from './duckdb.module-definition';
export { DUCKDB_CALL_GUARD, DUCKDB_DEFAULTS } from './duckdb.constants';
export { DuckDbClient } from './duckdb.client';
export {
  TransactionManager,
  type TransactionManagerOptions,
  type TransactionStats,
} from './transactions/transaction-manager';
export {
  Propagation,
  type TransactionOptions,
  validateTransactionOptions,
} from './transactions/transaction.options';
export { DuckDbDatabase, STALE_PLAN_OPTIMIZERS } from './duckdb.database';
export { DuckDbPool, type ResolvedPoolOptions } from './pool/duckdb-pool';
export { PooledConnection, type StatementMode } from './pool/pooled-connection';
export {
  currentTransaction,
  statementSignalStorage,
  transactionStorage,
  type TransactionHook,
  type TransactionState,
} from './duckdb.context';
export { resolveDuckDbOptions, sizeUvThreadPool } from './duckdb.options';
export { migrate, readMigrations, type MigrationFile } from './migrations/migrator';
export { readRows } from './duckdb.rows';
export * from './duckdb.errors';
export type * from './duckdb.interfaces';
