import { Injectable } from '@nestjs/common';
import type { TransactionHook, TransactionOptions } from '@lib/duckdb';
import { TransactionManager } from './engine/transaction-manager';
import type { TransactionStats } from './transactions.interfaces';

/**
 * The active transaction, seen from application code: whether there is one, its hooks, and
 * programmatic scopes. Hooks run one at a time in registration order, each awaited, before the
 * owning scope's promise settles; a failing after-commit or after-rollback hook is logged and
 * counted, never rethrown. Hooks registered by an attempt that is rerun after a conflict are
 * dropped with it.
 */
@Injectable()
export class TransactionHost {
  constructor(private readonly manager: TransactionManager) {}

  /** True inside a transaction. */
  isActive(): boolean {
    return this.manager.current() !== undefined;
  }

  /** True inside a read-only transaction. */
  isReadOnly(): boolean {
    return this.manager.current()?.readOnly === true;
  }

  /**
   * Runs `fn` after the active transaction commits (never if it rolls back).
   * @throws IllegalTransactionStateError outside a transaction.
   */
  afterCommit(fn: TransactionHook): void {
    this.manager.addHook('afterCommit', fn);
  }

  /** Runs `fn` after the active transaction rolls back. */
  afterRollback(fn: TransactionHook): void {
    this.manager.addHook('afterRollback', fn);
  }

  /**
   * Runs `fn` inside the active transaction just before it commits; a throw rolls it back and
   * becomes the scope's error.
   */
  beforeCommit(fn: TransactionHook): void {
    this.manager.addHook('beforeCommit', fn);
  }

  /** Dooms the active transaction: its owner rolls back and throws `UnexpectedRollbackError`. */
  setRollbackOnly(): void {
    this.manager.setRollbackOnly();
  }

  /** Runs `fn` in a transactional scope, as `@Transactional(options)` would. */
  run<T>(fn: () => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.manager.run(options, fn);
  }

  /** Runs `fn` in a transaction that is always rolled back (see `withRollback`). */
  runAndRollback<T>(fn: () => Promise<T>): Promise<T> {
    return this.manager.runAndRollback(fn);
  }

  /** Counters: started, committed, rolled back, retried, conflicts, timeouts, durations. */
  stats(): TransactionStats {
    return this.manager.stats();
  }
}
