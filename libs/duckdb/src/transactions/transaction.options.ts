/**
 * How a transactional scope relates to a transaction already active in its async context (Spring's
 * meanings). DuckDB has no savepoints, so there is no `Nested`: asking for it is an error.
 */
export enum Propagation {
  /** Join the active transaction, or begin one. The default. */
  Required = 'REQUIRED',
  /** Suspend the active transaction and begin an independent one on another connection. */
  RequiresNew = 'REQUIRES_NEW',
  /** Join the active transaction; fail with `IllegalTransactionStateError` when there is none. */
  Mandatory = 'MANDATORY',
  /** Join the active transaction, or run without one. */
  Supports = 'SUPPORTS',
  /** Suspend the active transaction and run without one (statements autocommit on the pool). */
  NotSupported = 'NOT_SUPPORTED',
  /** Run without a transaction; fail with `IllegalTransactionStateError` when one is active. */
  Never = 'NEVER',
}

/** Options of a transactional scope (`@Transactional`, `DuckDbClient.transaction`, the interceptor). */
export interface TransactionOptions {
  /** See {@link Propagation}. Default `Required`. */
  propagation?: Propagation;
  /**
   * `BEGIN TRANSACTION READ ONLY`: any write inside fails with `ReadOnlyTransactionError`.
   * Default `false`. A read-write scope cannot join a read-only transaction.
   */
  readOnly?: boolean;
  /**
   * The whole transaction's time limit: past it, the running statement is interrupted and the
   * transaction rolled back (`TransactionTimeoutError`). Default: none (each statement still has
   * the pool's `queryTimeoutMs`). A joining scope may not ask for a different one.
   */
  timeoutMs?: number;
  /**
   * Reruns of the whole unit after a write-write conflict, with exponential backoff and full
   * jitter. Only the scope that began the transaction retries; joining scopes' `retries` is
   * ignored. Default: the manager's `defaultRetries` (0 unless configured).
   */
  retries?: number;
}

/** Every propagation value, for validation. */
export const PROPAGATIONS: ReadonlySet<string> = new Set(Object.values(Propagation));

/**
 * Checks options once, where they are declared (at startup for decorators).
 * @throws TypeError for an unknown propagation (including `NESTED`) or out-of-range numbers.
 */
export function validateTransactionOptions(
  options: TransactionOptions,
  where = 'transaction',
): void {
  const propagation = options.propagation;
  if (propagation !== undefined && !PROPAGATIONS.has(propagation)) {
    const nested = String(propagation).toUpperCase() === 'NESTED';
    throw new TypeError(
      nested
        ? `${where}: DuckDB has no savepoints, so nested transactions are not supported. Use Required (join) or RequiresNew (independent transaction).`
        : `${where}: unknown propagation "${String(propagation)}".`,
    );
  }
  if (
    options.timeoutMs !== undefined &&
    (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0)
  ) {
    throw new TypeError(`${where}: timeoutMs must be a positive integer.`);
  }
  if (
    options.retries !== undefined &&
    (!Number.isInteger(options.retries) || options.retries < 0)
  ) {
    throw new TypeError(`${where}: retries must be an integer ≥ 0.`);
  }
}
