import { backoffDelay } from '@lib/common';
import { Logger } from '@nestjs/common';
import { type TransactionHook, type TransactionState, transactionStorage } from '../duckdb.context';
import {
  IllegalTransactionStateError,
  TransactionConflictError,
  TransactionTimeoutError,
  UnexpectedRollbackError,
} from '../duckdb.errors';
import type {
  DuckDbCallGuard,
  TransactionManagerOptions,
  TransactionStats,
} from '../duckdb.interfaces';
import type { DuckDbPool } from '../pool/duckdb-pool';
import type { PooledConnection } from '../pool/pooled-connection';
import {
  Propagation,
  type TransactionOptions,
  validateTransactionOptions,
} from './transaction.options';

const NO_PARAMS: readonly never[] = [];

/** How one attempt ended; hooks run after its connection is released. */
type Settled<T> =
  | { committed: true; state: TransactionState; value: T }
  | { committed: false; state: TransactionState; error: unknown };
let nextTransactionId = 1;

/**
 * The transaction engine under `DuckDbClient.transaction`, `@Transactional`, the interceptor and
 * `TransactionHost`: propagation, read-only and timeout options, rollback-only marking, conflict
 * retries owned by the outermost scope, hooks, statistics, and revoked handles.
 */
export class TransactionManager {
  private readonly logger = new Logger('Transactions');
  private readonly options: Required<TransactionManagerOptions>;
  private readonly counters = {
    started: 0,
    committed: 0,
    rolledBack: 0,
    retried: 0,
    conflicts: 0,
    timeouts: 0,
    hookFailures: 0,
    active: 0,
    finished: 0,
    durationMsTotal: 0,
    maxDurationMs: 0,
  };

  constructor(
    private readonly pool: DuckDbPool,
    options: TransactionManagerOptions = {},
    /** Guards `BEGIN` (the circuit breaker of `@lib/resilience`), so an open circuit stops writes too. */
    private readonly guard?: DuckDbCallGuard,
  ) {
    this.options = {
      defaultRetries: options.defaultRetries ?? 0,
      retryBaseDelayMs: options.retryBaseDelayMs ?? 10,
      retryMaxDelayMs: options.retryMaxDelayMs ?? 1000,
      random: options.random ?? Math.random,
    };
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
        state = this.newState(connection, false, undefined);
        await connection.run('BEGIN TRANSACTION', NO_PARAMS, 'script', { operation: 'begin' });
        try {
          return await transactionStorage.run(state, fn);
        } finally {
          state.active = false;
          if (connection.busy) await connection.settled();
          await this.rollback(connection);
        }
      });
    } finally {
      if (state) await this.runHooks(state.hooks.afterRollback, 'afterRollback');
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
    const c = this.counters;
    return {
      started: c.started,
      committed: c.committed,
      rolledBack: c.rolledBack,
      retried: c.retried,
      conflicts: c.conflicts,
      timeouts: c.timeouts,
      hookFailures: c.hookFailures,
      active: c.active,
      avgDurationMs: c.finished === 0 ? 0 : round(c.durationMsTotal / c.finished),
      maxDurationMs: round(c.maxDurationMs),
    };
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
        this.attempt(connection, options, fn),
      );
      // Hooks run after the connection is back in the pool: a hook that reads the database
      // must not wait for the connection its own transaction holds.
      if (settled.committed) {
        await this.runHooks(settled.state.hooks.afterCommit, 'afterCommit');
        return settled.value;
      }
      const { error } = settled;
      if (error instanceof TransactionConflictError) {
        this.counters.conflicts++;
        if (attempt < retries) {
          // The attempt's hooks are dropped with it.
          this.counters.retried++;
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
      await this.runHooks(settled.state.hooks.afterRollback, 'afterRollback');
      throw error;
    }
  }

  /** One attempt on a pinned connection: BEGIN, the unit, then COMMIT or ROLLBACK. */
  private async attempt<T>(
    connection: PooledConnection,
    options: TransactionOptions,
    fn: () => Promise<T>,
  ): Promise<Settled<T>> {
    const readOnly = options.readOnly === true;
    const state = this.newState(connection, readOnly, options.timeoutMs);
    const started = performance.now();
    this.counters.started++;
    this.counters.active++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const begin = () =>
        connection.run(
          readOnly ? 'BEGIN TRANSACTION READ ONLY' : 'BEGIN TRANSACTION',
          NO_PARAMS,
          'script',
          { operation: 'begin' },
        );
      await (this.guard
        ? this.guard.run(begin, { operation: 'begin', returnsRows: false, inTransaction: true })
        : begin());
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          state.timedOut = true;
          markRollbackOnly(
            state,
            new TransactionTimeoutError({ timeoutMs: options.timeoutMs as number }),
          );
          connection.interrupt();
        }, options.timeoutMs);
      }
      let outcome: { ok: true; value: T } | { ok: false; error: unknown };
      try {
        outcome = { ok: true, value: await transactionStorage.run(state, fn) };
        // Statements the unit started but did not await must settle before the verdict.
        if (connection.busy) await connection.settled();
        if (!state.rollbackOnly && state.hooks.beforeCommit.length > 0) {
          await transactionStorage.run(state, () => this.runBeforeCommit(state));
          if (connection.busy) await connection.settled();
        }
      } catch (error) {
        outcome = { ok: false, error };
        markRollbackOnly(state, error);
        if (connection.busy) await connection.settled();
      }
      if (timer) clearTimeout(timer);
      state.active = false;
      if (state.rollbackOnly) {
        await this.rollback(connection);
        this.counters.rolledBack++;
        return {
          committed: false,
          state,
          error: this.rollbackError(state, outcome.ok ? undefined : outcome),
        };
      }
      try {
        await connection.run('COMMIT', NO_PARAMS, 'script', { operation: 'commit' });
      } catch (error) {
        await this.rollback(connection);
        this.counters.rolledBack++;
        return { committed: false, state, error };
      }
      this.counters.committed++;
      return { committed: true, state, value: (outcome as { value: T }).value };
    } finally {
      if (timer) clearTimeout(timer);
      state.active = false;
      this.counters.active--;
      this.counters.finished++;
      const duration = performance.now() - started;
      this.counters.durationMsTotal += duration;
      if (duration > this.counters.maxDurationMs) this.counters.maxDurationMs = duration;
    }
  }

  /**
   * What the owner throws after rolling back a doomed transaction: a timeout; a conflict (which
   * the owner reruns) even when the unit swallowed it; the unit's own error; or, when the unit
   * returned normally over a failed statement or inner scope, `UnexpectedRollbackError`.
   */
  private rollbackError(state: TransactionState, failure?: { error: unknown }): unknown {
    const cause = state.rollbackCause;
    if (state.timedOut) {
      this.counters.timeouts++;
      return cause instanceof TransactionTimeoutError
        ? cause
        : new TransactionTimeoutError({ timeoutMs: state.timeoutMs ?? 0, cause });
    }
    if (cause instanceof TransactionConflictError) return cause;
    if (failure) return failure.error;
    return new UnexpectedRollbackError({ cause });
  }

  private async runBeforeCommit(state: TransactionState): Promise<void> {
    for (const hook of state.hooks.beforeCommit) await hook();
  }

  private async runHooks(hooks: TransactionHook[], kind: string): Promise<void> {
    for (const hook of hooks) {
      try {
        // Hooks run outside the ended transaction: their statements autocommit on the pool.
        await transactionStorage.run(null, async () => hook());
      } catch (error) {
        this.counters.hookFailures++;
        this.logger.error(
          `A ${kind} hook failed (the transaction's outcome stands): ${String(error)}`,
        );
      }
    }
  }

  private async rollback(connection: PooledConnection): Promise<void> {
    try {
      await connection.run('ROLLBACK', NO_PARAMS, 'script', { operation: 'rollback' });
    } catch {
      // Nothing to roll back: a failed COMMIT already ended the transaction.
    }
  }

  private newState(
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
}

/** Dooms a transaction; the first cause is kept. */
export function markRollbackOnly(state: TransactionState, cause: unknown): void {
  if (state.rollbackOnly) return;
  state.rollbackOnly = true;
  state.rollbackCause = cause;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
