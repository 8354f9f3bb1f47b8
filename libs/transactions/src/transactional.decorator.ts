import { AppBoundMethods } from '@lib/common';
import { type TransactionOptions, validateTransactionOptions } from '@lib/duckdb';
import type { TransactionManager } from './engine/transaction-manager';
import { TRANSACTIONAL_METADATA } from './transactions.constants';

/** Binds `@Transactional` methods to their application's transaction manager. */
export const TRANSACTIONAL_METHODS = new AppBoundMethods<TransactionManager>(
  'TransactionsModule',
  TRANSACTIONAL_METADATA,
);

/**
 * Runs the method in a transactional scope: inside it, every `DuckDbClient` call in the same async
 * context runs on the transaction's connection. The scope that begins a transaction commits when
 * the method resolves, rolls back when it throws (or when any statement inside failed, even one
 * whose error was caught), and reruns the method on write-write conflicts up to `retries` times.
 *
 * Options are validated here, at startup: `NESTED` and other unknown propagations fail loudly.
 * The method's metadata (routes, Swagger, other decorators) is kept.
 *
 * @example
 * \@Transactional({ retries: 3 })
 * async move(id: string, to: string) { … }
 */
export function Transactional(options: TransactionOptions = {}): MethodDecorator {
  return (target, propertyKey, descriptor) => {
    validateTransactionOptions(
      options,
      `@Transactional on ${target.constructor.name}.${String(propertyKey)}`,
    );
    return TRANSACTIONAL_METHODS.decorator('Transactional', (manager, invoke) =>
      manager.run(options, invoke),
    )(target, propertyKey, descriptor);
  };
}
