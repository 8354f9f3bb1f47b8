import {
  type TransactionManager,
  type TransactionOptions,
  validateTransactionOptions,
} from '@lib/duckdb';
import { MANAGER_REF, TRANSACTIONAL_METADATA } from './transactions.constants';

let fallbackManager: TransactionManager | undefined;

/** Called by `TransactionsModule` at startup: the manager for objects Nest did not create. */
export function setFallbackTransactionManager(manager: TransactionManager | undefined): void {
  fallbackManager = manager;
}

type AnyMethod = (...args: unknown[]) => unknown;

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
    const where = `@Transactional on ${target.constructor.name}.${String(propertyKey)}`;
    validateTransactionOptions(options, where);
    const original = descriptor.value as unknown as AnyMethod;
    if (typeof original !== 'function') throw new TypeError(`${where}: not a method`);
    const wrapped = function (
      this: Record<symbol, TransactionManager | undefined>,
      ...args: unknown[]
    ) {
      const manager = this?.[MANAGER_REF] ?? fallbackManager;
      if (!manager) {
        return Promise.reject(
          new Error(
            `${where}: TransactionsModule is not imported, or the application has not started.`,
          ),
        );
      }
      return manager.run(options, async () => original.apply(this, args));
    };
    for (const key of Reflect.getOwnMetadataKeys(original)) {
      Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapped);
    }
    Reflect.defineMetadata(TRANSACTIONAL_METADATA, options, wrapped);
    Object.defineProperty(wrapped, 'name', { value: original.name });
    descriptor.value = wrapped as never;
    return descriptor;
  };
}
