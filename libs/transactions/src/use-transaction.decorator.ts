import { SetMetadata, UseInterceptors, applyDecorators } from '@nestjs/common';
import { type TransactionOptions, validateTransactionOptions } from '@lib/duckdb';
import { TransactionInterceptor } from './transaction.interceptor';
import { TRANSACTION_INTERCEPTOR_OPTIONS } from './transactions.constants';

/**
 * Runs a controller handler (or every handler of a controller) in one transaction with these
 * options: `@UseInterceptors(TransactionInterceptor)` plus the options it reads.
 *
 * @example
 * \@UseTransaction({ retries: 3 })
 * \@Put(':usageType/chain')
 * replace(…) { … }
 */
export function UseTransaction(options: TransactionOptions = {}): MethodDecorator & ClassDecorator {
  validateTransactionOptions(options, '@UseTransaction');
  return applyDecorators(
    SetMetadata(TRANSACTION_INTERCEPTOR_OPTIONS, options),
    UseInterceptors(TransactionInterceptor),
  );
}
