import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TransactionHost } from './transaction.host';
import { TransactionInterceptor } from './transaction.interceptor';
import { TransactionalExplorer } from './transactional.explorer';

/**
 * Declarative transactions over `@lib/duckdb`: `@Transactional()`, `TransactionInterceptor` and
 * `TransactionHost` (global: import it once). Import it once, after `DuckDbModule` (registered globally); retry defaults
 * are the `transactions` options of `DuckDbModule.forRoot`.
 *
 * @example
 * imports: [DuckDbModule.forRoot({ path, isGlobal: true, transactions: { defaultRetries: 3 } }), TransactionsModule]
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [TransactionHost, TransactionInterceptor, TransactionalExplorer],
  exports: [TransactionHost, TransactionInterceptor],
})
export class TransactionsModule {}
