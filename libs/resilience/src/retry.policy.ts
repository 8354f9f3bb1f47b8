import { type RetryPolicy as CockatielRetry, handleWhen, retry } from 'cockatiel';
import { JitteredBackoff } from './backoff';
import type { RetryBudget } from './retry-budget';
import type { RetryOptions, RetryStats } from './resilience.interfaces';

/**
 * Retries transient failures on cockatiel's retry policy, with capped exponential backoff and
 * jitter, under a per-dependency {@link RetryBudget}: a retry the budget cannot pay for is not
 * made, and the original error surfaces.
 */
export class RetryPolicy {
  private readonly policy: CockatielRetry;
  private calls = 0;
  private retries = 0;
  private budgetExhausted = 0;
  /** The attempt (0-based) that threw each error, so the last one never asks the budget. */
  private readonly attemptOf = new WeakMap<object, number>();
  private readonly maxRetries: number;

  constructor(
    /** The dependency's name (budgets are per dependency). */
    readonly name: string,
    options: Required<RetryOptions>,
    private readonly budget: RetryBudget,
    isTransient: (error: unknown) => boolean,
    random: () => number,
  ) {
    this.maxRetries = options.maxRetries;
    this.policy = retry(
      handleWhen((error) => {
        if (!isTransient(error)) return false;
        // cockatiel asks after every failure, the last one too: no retry follows that one.
        if ((this.attemptOf.get(error) ?? 0) >= this.maxRetries) return false;
        if (this.budget.tryWithdraw()) return true;
        this.budgetExhausted++;
        return false;
      }),
      {
        maxAttempts: options.maxRetries,
        backoff: new JitteredBackoff(
          options.baseDelayMs,
          options.maxDelayMs,
          options.jitter,
          random,
        ),
      },
    );
    this.policy.onRetry(() => this.retries++);
  }

  /**
   * Runs `fn`, retrying transient failures within the budget. When `signal` aborts (the caller's
   * deadline passed), no further attempt is made.
   */
  execute<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.calls++;
    this.budget.deposit();
    return this.policy.execute(async ({ attempt }) => {
      try {
        return await fn();
      } catch (error) {
        if (typeof error === 'object' && error !== null) this.attemptOf.set(error, attempt);
        throw error;
      }
    }, signal);
  }

  /** Counters. */
  stats(): RetryStats {
    return {
      name: this.name,
      calls: this.calls,
      retries: this.retries,
      budgetExhausted: this.budgetExhausted,
    };
  }
}
