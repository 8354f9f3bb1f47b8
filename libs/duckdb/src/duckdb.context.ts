import { AsyncLocalStorage } from 'node:async_hooks';
import type { PooledConnection } from './pool/pooled-connection';

/** A transaction hook: awaited, one at a time, in registration order. */
export type TransactionHook = () => unknown;

/**
 * The state of one database transaction, carried in `AsyncLocalStorage` so that every
 * `DuckDbClient` call in its async context runs on its connection without a parameter passed down.
 */
export interface TransactionState {
  /** Process-unique number, for logs. */
  readonly id: number;
  /** The pinned connection; every statement of the transaction runs on it, one at a time. */
  readonly connection: PooledConnection;
  /** `BEGIN TRANSACTION READ ONLY` was used. */
  readonly readOnly: boolean;
  /** The transaction's time limit, if any. */
  readonly timeoutMs: number | undefined;
  /** Set by any failed statement or failed inner scope: the owner must roll back, never commit. */
  rollbackOnly: boolean;
  /** The first error that marked the transaction rollback-only. */
  rollbackCause?: unknown;
  /** Set when `timeoutMs` passed. */
  timedOut: boolean;
  /** False once the owning scope has begun to commit or roll back; the handle is then revoked. */
  active: boolean;
  /** Hooks registered through `TransactionHost`, run by the owning scope. */
  readonly hooks: {
    beforeCommit: TransactionHook[];
    afterCommit: TransactionHook[];
    afterRollback: TransactionHook[];
  };
}

/**
 * The ambient-transaction store shared by `DuckDbClient`, the transaction manager and
 * `@lib/transactions`. `null` means a transaction was explicitly suspended (`NotSupported`).
 * A plain `AsyncLocalStorage`, not a `ScopedStorage`: work that outlives its transaction must
 * still see it, to be refused with `TransactionClosedError` instead of running outside it.
 */
export const transactionStorage = new AsyncLocalStorage<TransactionState | null>();

/** The transaction active in the current async context, if any. */
export function currentTransaction(): TransactionState | undefined {
  const state = transactionStorage.getStore();
  return state?.active ? state : undefined;
}

/**
 * Dooms a transaction; the first cause is kept. `DuckDbClient` calls it for every statement that
 * fails inside one (DuckDB then treats the transaction as aborted and would "commit" it storing
 * nothing); the transaction engine for failed inner scopes.
 */
export function markRollbackOnly(state: TransactionState, cause: unknown): void {
  if (state.rollbackOnly) return;
  state.rollbackOnly = true;
  state.rollbackCause = cause;
}
