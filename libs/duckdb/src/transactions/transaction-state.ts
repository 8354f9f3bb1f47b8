import type { TransactionState } from '../duckdb.context';
import type { PooledConnection } from '../pool/pooled-connection';

let nextTransactionId = 1;

/** A fresh, active transaction state pinned to `connection`, with a process-unique id. */
export function newTransactionState(
  connection: PooledConnection,
  readOnly: boolean,
  timeoutMs: number | undefined,
): TransactionState {
  return {
    id: nextTransactionId++,
    connection,
    readOnly,
    timeoutMs,
    rollbackOnly: false,
    timedOut: false,
    active: true,
    hooks: { beforeCommit: [], afterCommit: [], afterRollback: [] },
  };
}

/** Dooms a transaction; the first cause is kept. */
export function markRollbackOnly(state: TransactionState, cause: unknown): void {
  if (state.rollbackOnly) return;
  state.rollbackOnly = true;
  state.rollbackCause = cause;
}
