import { backoffDelay } from '@lib/common';
import {
  type DuckDbCallGuard,
  type DuckDbPool,
  IllegalTransactionStateError,
  Propagation,
  TransactionConflictError,
  type TransactionHook,
  type TransactionManagerOptions,
  type TransactionOptions,
  TransactionRunner,
  type TransactionState,
  markRollbackOnly,
  transactionStorage,
  validateTransactionOptions,
} from '@lib/duckdb';
import type { TransactionStats } from '../transactions.interfaces';
import {
  beginTransaction,
  rollbackTransaction,
  TransactionAttemptRunner,
} from './transaction-attempt';
import { TransactionHookRunner } from './transaction-hooks';
import { newTransactionState } from './transaction-state';
import { TransactionStatistics } from './transaction-stats';

/**
 * The transaction engine under `DuckDbClient.transaction`, `@Transactional`, the interceptor and
 * `TransactionHost`: propagation, read-only and timeout options, rollback-only marking, conflict
 * retries owned by the outermost scope, hooks, statistics, and revoked handles.
 */
export class TransactionManager extends TransactionRunner {
  private readonly options: Required<TransactionManagerOptions>;
  private readonly statistics = new TransactionStatistics();
  private readonly hooks = new TransactionHookRunner(this.statistics);
  private readonly attempts: TransactionAttemptRunner;

  constructor(
    private readonly pool: DuckDbPool,
    options: TransactionManagerOptions = {},
    /** Guards `BEGIN` (the circuit breaker of `@lib/resilience`), so an open circuit stops writes too. */
    guard?: DuckDbCallGuard,
  ) {
    super();
    this.options = {
      defaultRetries: options.defaultRetries ?? 0,
      retryBaseDelayMs: options.retryBaseDelayMs ?? 10,
      retryMaxDelayMs: options.retryMaxDelayMs ?? 1000,
      random: options.random ?? Math.random,
    };
    this.attempts = new TransactionAttemptRunner(this.statistics, guard);
  }

  /** The transaction active in this async context, if any. */
  current(): TransactionState | undefined {
    const state = transactionStorage.getStore();
    return state?.active ? state : undefined;
  }

  /**
   * Runs `fn` in a transactional scope (see {@link Propagation}). The scope that begins a
   * transaction commits it when `fn` resolves and nothing inside failed, rolls it back otherwise,
   * reruns it on write-write conflicts, and runs its hooks before settling.
   */
  run<T>(options: TransactionOptions, fn: () => Promise<T>): Promise<T> {
    try {
      validateTransactionOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const current = this.current();
    switch (options.propagation ?? Propagation.Required) {
      case Propagation.Required:
        return current ? this.join(current, options, fn) : this.begin(options, fn);
      case Propagation.RequiresNew:
        if (current && this.pool.stats().max < 2) {
          return Promise.reject(
            new IllegalTransactionStateError({
              message:
                'RequiresNew needs a second connection, but the pool has one (DUCKDB_POOL_ENABLED=false or max 1).',
            }),
          );
        }
        return this.begin(options, fn);
      case Propagation.Mandatory:
        if (!current) {
          return Promise.reject(
            new IllegalTransactionStateError({
              message: 'Propagation Mandatory needs an active transaction.',
            }),
          );
        }
        return this.join(current, options, fn);
      case Propagation.Supports:
        return current ? this.join(current, options, fn) : fn();
      case Propagation.NotSupported:
        if (current && this.pool.stats().max < 2) {
          return Promise.reject(
            new IllegalTransactionStateError({
              message:
                'NotSupported inside a transaction needs a second connection, but the pool has one (DUCKDB_POOL_ENABLED=false or max 1).',
            }),
          );
        }
        return transactionStorage.run(null, fn);
      case Propagation.Never:
        if (current) {
          return Promise.reject(
            new IllegalTransactionStateError({
              message: 'Propagation Never forbids an active transaction.',
            }),
          );
        }
        return fn();
    }
  }

  /**
   * Runs `fn` in a new transaction that is always rolled back, whatever `fn` does: for tests that
   * share one database without cleaning up.
   */
  async runAndRollback<T>(fn: () => Promise<T>): Promise<T> {
    if (this.current()) {
      throw new IllegalTransactionStateError({
        message: 'runAndRollback cannot run inside a transaction.',
      });
    }
    let state: TransactionState | undefined;
    try {
      return await this.pool.withConnection(async (connection) => {
        state = newTransactionState(connection, false, undefined);
        await beginTransaction(connection, false);
        try {
          return await transactionStorage.run(state, fn);
        } finally {
          state.active = false;
          if (connection.busy) await connection.settled();
          await rollbackTransaction(connection);
        }
      });
    } finally {
      if (state) await this.hooks.runAfter(state.hooks.afterRollback, 'afterRollback');
    }
  }

  /** Registers a hook on the active transaction. */
  addHook(kind: keyof TransactionState['hooks'], hook: TransactionHook): void {
    const state = this.current();
    if (!state)
      throw new IllegalTransactionStateError({
        message: `${kind} hooks need an active transaction.`,
      });
    state.hooks[kind].push(hook);
  }

  /** Marks the active transaction rollback-only. */
  setRollbackOnly(cause?: unknown): void {
    const state = this.current();
    if (!state)
      throw new IllegalTransactionStateError({
        message: 'No active transaction to mark rollback-only.',
      });
    markRollbackOnly(state, cause ?? new Error('marked rollback-only'));
  }

  /** A snapshot of the counters. */
  stats(): TransactionStats {
    return this.statistics.snapshot();
  }

  private async join<T>(
    state: TransactionState,
    options: TransactionOptions,
    fn: () => Promise<T>,
  ): Promise<T> {
    if (state.readOnly && options.readOnly !== true) {
      throw new IllegalTransactionStateError({
        message: 'A read-write scope cannot join a read-only transaction.',
      });
    }
    if (options.timeoutMs !== undefined && options.timeoutMs !== state.timeoutMs) {
      throw new IllegalTransactionStateError({
        message: `A scope asking for a ${options.timeoutMs} ms timeout cannot join a transaction with ${state.timeoutMs ?? 'no'} timeout.`,
      });
    }
    try {
      return await fn();
    } catch (error) {
      // A failed inner scope dooms the whole transaction, even when its caller catches the error.
      markRollbackOnly(state, error);
      throw error;
    }
  }

  private async begin<T>(options: TransactionOptions, fn: () => Promise<T>): Promise<T> {
    const retries = options.retries ?? this.options.defaultRetries;
    for (let attempt = 0; ; attempt++) {
      const settled = await this.pool.withConnection((connection) =>
        this.attempts.run(connection, options, fn),
      );
      // Hooks run after the connection is back in the pool: a hook that reads the database
      // must not wait for the connection its own transaction holds.
      if (settled.committed) {
        await this.hooks.runAfter(settled.state.hooks.afterCommit, 'afterCommit');
        return settled.value;
      }
      const { error } = settled;
      if (error instanceof TransactionConflictError) {
        this.statistics.count('conflicts');
        if (attempt < retries) {
          // The attempt's hooks are dropped with it.
          this.statistics.count('retried');
          const { retryBaseDelayMs, retryMaxDelayMs, random } = this.options;
          await sleep(
            backoffDelay(attempt, 0, {
              baseDelayMs: retryBaseDelayMs,
              maxDelayMs: retryMaxDelayMs,
              random,
            }),
          );
          continue;
        }
      }
      await this.hooks.runAfter(settled.state.hooks.afterRollback, 'afterRollback');
      throw error;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
