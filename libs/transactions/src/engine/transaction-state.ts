import type { PooledConnection, TransactionState } from '@lib/duckdb';

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
