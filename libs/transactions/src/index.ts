export { TransactionsModule } from './transactions.module';
export { Transactional } from './transactional.decorator';
export { UseTransaction } from './use-transaction.decorator';
export { TransactionInterceptor } from './transaction.interceptor';
export { TransactionHost } from './transaction.host';
export { withRollback } from './with-rollback';
export {
  IllegalTransactionStateError,
  Propagation,
  ReadOnlyTransactionError,
  TransactionClosedError,
  TransactionConflictError,
  TransactionTimeoutError,
  UnexpectedRollbackError,
  type TransactionOptions,
  type TransactionStats,
} from '@lib/duckdb';
