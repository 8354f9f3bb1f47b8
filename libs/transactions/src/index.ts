export { TransactionsModule } from './transactions.module';
export { TransactionManager } from './engine/transaction-manager';
export { Transactional } from './transactional.decorator';
export { UseTransaction } from './use-transaction.decorator';
export { TransactionInterceptor } from './transaction.interceptor';
export { TransactionHost } from './transaction.host';
export { withRollback } from './with-rollback';
export type { TransactionStats } from './transactions.interfaces';
// The options vocabulary and the errors are @lib/duckdb's (the client raises them too): one
// import here for everything about transactions.
export {
  IllegalTransactionStateError,
  Propagation,
  ReadOnlyTransactionError,
  TransactionClosedError,
  TransactionConflictError,
  TransactionTimeoutError,
  UnexpectedRollbackError,
  type TransactionManagerOptions,
  type TransactionOptions,
} from '@lib/duckdb';
