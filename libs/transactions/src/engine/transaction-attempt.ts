import {
  type DuckDbCallGuard,
  type PooledConnection,
  TransactionConflictError,
  type TransactionOptions,
  type TransactionState,
  TransactionTimeoutError,
  UnexpectedRollbackError,
  markRollbackOnly,
  transactionStorage,
} from '@lib/duckdb';
import { runBeforeCommitHooks } from './transaction-hooks';
import { newTransactionState } from './transaction-state';
import type { TransactionStatistics } from './transaction-stats';

const NO_PARAMS: readonly never[] = [];

/** How one attempt ended; hooks run after its connection is released. */
export type Settled<T> =
  | { committed: true; state: TransactionState; value: T }
  | { committed: false; state: TransactionState; error: unknown };

/** How the unit of work ended, before the verdict. */
type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Runs `BEGIN TRANSACTION` (or `… READ ONLY`) on `connection`, unguarded. */
export function beginTransaction(connection: PooledConnection, readOnly: boolean): Promise<void> {
  return connection.run(
    readOnly ? 'BEGIN TRANSACTION READ ONLY' : 'BEGIN TRANSACTION',
    NO_PARAMS,
    'script',
    { operation: 'begin' },
  );
}

/** Runs `ROLLBACK` on `connection`; a transaction that already ended is not an error. */
export async function rollbackTransaction(connection: PooledConnection): Promise<void> {
  try {
    await connection.run('ROLLBACK', NO_PARAMS, 'script', { operation: 'rollback' });
  } catch {
    // Nothing to roll back: a failed COMMIT already ended the transaction.
  }
}

/**
 * One attempt of a transaction on a pinned connection: BEGIN (through the call guard), the unit
 * under its timeout, `beforeCommit` hooks, then COMMIT or ROLLBACK. It never runs after-hooks
 * and never retries: the owning scope in `TransactionManager` does both once the connection is
 * released.
 */
export class TransactionAttemptRunner {
  constructor(
    private readonly stats: TransactionStatistics,
    /** Guards `BEGIN` (the circuit breaker of `@lib/resilience`), so an open circuit stops writes too. */
    private readonly guard?: DuckDbCallGuard,
  ) {}

  /**
   * Runs one attempt of `fn`. Resolves with how it settled; rejects only when BEGIN (or waiting
   * for the connection's queued statements) fails.
   */
  async run<T>(
    connection: PooledConnection,
    options: TransactionOptions,
    fn: () => Promise<T>,
  ): Promise<Settled<T>> {
    const readOnly = options.readOnly === true;
    const state = newTransactionState(connection, readOnly, options.timeoutMs);
    const started = this.stats.attemptStarted();
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.begin(connection, readOnly);
      if (options.timeoutMs !== undefined) timer = this.armTimeout(state, options.timeoutMs);
      const outcome = await this.runUnit(state, fn);
      if (timer) clearTimeout(timer);
      state.active = false;
      return await this.conclude(state, outcome);
    } finally {
      if (timer) clearTimeout(timer);
      state.active = false;
      this.stats.attemptFinished(started);
    }
  }

  private async begin(connection: PooledConnection, readOnly: boolean): Promise<void> {
    const begin = () => beginTransaction(connection, readOnly);
    await (this.guard
      ? this.guard.run(begin, { operation: 'begin', returnsRows: false, inTransaction: true })
      : begin());
  }

  /** Past `timeoutMs`, dooms the transaction and interrupts its running statement. */
  private armTimeout(state: TransactionState, timeoutMs: number): NodeJS.Timeout {
    return setTimeout(() => {
      state.timedOut = true;
      markRollbackOnly(state, new TransactionTimeoutError({ timeoutMs }));
      state.connection.interrupt();
    }, timeoutMs);
  }

  /** Runs the unit and its `beforeCommit` hooks in the transaction; a throw dooms it. */
  private async runUnit<T>(state: TransactionState, fn: () => Promise<T>): Promise<Outcome<T>> {
    const { connection } = state;
    try {
      const value = await transactionStorage.run(state, fn);
      // Statements the unit started but did not await must settle before the verdict.
      if (connection.busy) await connection.settled();
      if (!state.rollbackOnly && state.hooks.beforeCommit.length > 0) {
        await transactionStorage.run(state, () => runBeforeCommitHooks(state));
        if (connection.busy) await connection.settled();
      }
      return { ok: true, value };
    } catch (error) {
      markRollbackOnly(state, error);
      if (connection.busy) await connection.settled();
      return { ok: false, error };
    }
  }

  /** Rolls back a doomed transaction, or commits (rolling back when COMMIT fails). */
  private async conclude<T>(state: TransactionState, outcome: Outcome<T>): Promise<Settled<T>> {
    const { connection } = state;
    // A failed unit has always marked the state rollback-only; `!outcome.ok` only narrows.
    if (state.rollbackOnly || !outcome.ok) {
      await rollbackTransaction(connection);
      this.stats.count('rolledBack');
      return {
        committed: false,
        state,
        error: this.rollbackError(state, outcome.ok ? undefined : outcome),
      };
    }
    try {
      await connection.run('COMMIT', NO_PARAMS, 'script', { operation: 'commit' });
    } catch (error) {
      await rollbackTransaction(connection);
      this.stats.count('rolledBack');
      return { committed: false, state, error };
    }
    this.stats.count('committed');
    return { committed: true, state, value: outcome.value };
  }

  /**
   * What the owner throws after rolling back a doomed transaction: a timeout; a conflict (which
   * the owner reruns) even when the unit swallowed it; the unit's own error; or, when the unit
   * returned normally over a failed statement or inner scope, `UnexpectedRollbackError`.
   */
  private rollbackError(state: TransactionState, failure?: { error: unknown }): unknown {
    const cause = state.rollbackCause;
    if (state.timedOut) {
      this.stats.count('timeouts');
      return cause instanceof TransactionTimeoutError
        ? cause
        : new TransactionTimeoutError({ timeoutMs: state.timeoutMs ?? 0, cause });
    }
    if (cause instanceof TransactionConflictError) return cause;
    if (failure) return failure.error;
    return new UnexpectedRollbackError({ cause });
  }
}
