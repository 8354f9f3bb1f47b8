import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import {
  DUCKDB_CALL_GUARD,
  DUCKDB_TRANSACTION_OPTIONS,
  type DuckDbCallGuard,
  DuckDbPool,
  type TransactionManagerOptions,
  TransactionRunner,
} from '@lib/duckdb';
import { TransactionManager } from './engine/transaction-manager';
import { TransactionHost } from './transaction.host';
import { TransactionInterceptor } from './transaction.interceptor';
import { TransactionalExplorer } from './transactional.explorer';

/**
 * Transactions over `@lib/duckdb`: the engine (`TransactionManager`, which also runs
 * `DuckDbClient.transaction()`), `@Transactional()`, `TransactionInterceptor` and
 * `TransactionHost`. Global: import it once, next to a global `DuckDbModule`; retry defaults are
 * the `transactions` options of `DuckDbModule.forRoot`.
 *
 * @example
 * imports: [DuckDbModule.forRoot({ path, isGlobal: true, transactions: { defaultRetries: 3 } }), TransactionsModule]
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: TransactionManager,
      inject: [
        DuckDbPool,
        { token: DUCKDB_TRANSACTION_OPTIONS, optional: true },
        { token: DUCKDB_CALL_GUARD, optional: true },
      ],
      useFactory: (
        pool: DuckDbPool,
        options?: TransactionManagerOptions,
        guard?: DuckDbCallGuard,
      ) => new TransactionManager(pool, options ?? {}, guard),
    },
    { provide: TransactionRunner, useExisting: TransactionManager },
    TransactionHost,
    TransactionInterceptor,
    TransactionalExplorer,
  ],
  exports: [TransactionManager, TransactionRunner, TransactionHost, TransactionInterceptor],
})
export class TransactionsModule {}
