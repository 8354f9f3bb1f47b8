import { AsyncLocalStorage } from 'node:async_hooks';
import type { PooledConnection } from './pool/pooled-connection';

/**
 * The state of one database transaction, carried in `AsyncLocalStorage` so that every
 * `DuckDbClient` call in its async context runs on its connection without a parameter passed down.
 */
export interface TransactionState {
  /** The pinned connection; every statement of the transaction runs on it, one at a time. */
  readonly connection: PooledConnection;
  /** `BEGIN TRANSACTION READ ONLY` was used. */
  readonly readOnly: boolean;
  /** Set by any failed statement: the owning scope must roll back, never commit. */
  rollbackOnly: boolean;
  /** The first error that marked the transaction rollback-only. */
  rollbackCause?: unknown;
  /** False once the owning scope has committed or rolled back; the handle is then revoked. */
  active: boolean;
}

/** The ambient-transaction store shared by `DuckDbClient` and `@lib/transactions`. */
export const transactionStorage = new AsyncLocalStorage<TransactionState>();
