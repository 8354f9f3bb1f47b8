/** Metadata key under which `@Transactional` records a method's options. */
export const TRANSACTIONAL_METADATA = 'TRANSACTIONS:TRANSACTIONAL';

/** Metadata key of the options that `TransactionInterceptor` applies to a handler. */
export const TRANSACTION_INTERCEPTOR_OPTIONS = 'TRANSACTIONS:INTERCEPTOR_OPTIONS';

/** Property under which the module binds a provider instance to its application's manager. */
export const MANAGER_REF = Symbol.for('transactions:manager');
