import { ScopedStorage } from '@lib/common';

/**
 * An `AbortSignal` for the statements run in this async context: when it aborts, the running
 * statement is interrupted (DuckDB `interrupt()`) and later ones are refused. `@lib/resilience`'s
 * timeout policy sets it, so a timeout really stops the database work.
 */
export const statementSignalStorage = new ScopedStorage<AbortSignal>();
