/** Metadata key marking `@Transactional` methods. */
export const TRANSACTIONAL_METADATA = 'TRANSACTIONS:TRANSACTIONAL';

/** Metadata key of the options that `TransactionInterceptor` applies to a handler. */
export const TRANSACTION_INTERCEPTOR_OPTIONS = 'TRANSACTIONS:INTERCEPTOR_OPTIONS';
