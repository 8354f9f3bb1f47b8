import { Logger } from '@nestjs/common';
import { type TransactionHook, type TransactionState, transactionStorage } from '@lib/duckdb';
import type { TransactionStatistics } from './transaction-stats';

/**
 * Runs a transaction's `beforeCommit` hooks one at a time, in registration order; the first throw
 * stops them and propagates (the owner then rolls back).
 */
export async function runBeforeCommitHooks(state: TransactionState): Promise<void> {
  for (const hook of state.hooks.beforeCommit) await hook();
}

/**
 * Runs `afterCommit` / `afterRollback` hooks one at a time, in registration order, each awaited
 * outside the ended transaction. A failing hook is logged and counted (`hookFailures`), never
 * rethrown.
 */
export class TransactionHookRunner {
  private readonly logger = new Logger('Transactions');

  constructor(private readonly stats: TransactionStatistics) {}

  /** Runs `hooks` in order; `kind` names them in the log. */
  async runAfter(hooks: TransactionHook[], kind: 'afterCommit' | 'afterRollback'): Promise<void> {
    for (const hook of hooks) {
      try {
        // Hooks run outside the ended transaction: their statements autocommit on the pool.
        await transactionStorage.run(null, async () => hook());
      } catch (error) {
        this.stats.count('hookFailures');
        this.logger.error(
          `A ${kind} hook failed (the transaction's outcome stands): ${String(error)}`,
        );
      }
    }
  }
}
