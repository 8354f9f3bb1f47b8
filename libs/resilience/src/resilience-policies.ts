import { withoutUndefined } from '@lib/common';
import { Inject, Injectable } from '@nestjs/common';
import {
  timeout as cockatielTimeout,
  TaskCancelledError,
  type TimeoutPolicy,
  TimeoutStrategy,
} from 'cockatiel';
import { statementSignalStorage } from '@lib/duckdb';
import { CircuitBreaker } from './circuit-breaker';
import { type Clock, systemClock } from './clock';
import { DatabaseExceptionHandler } from './database-exception.handler';
import { RESILIENCE_DEFAULTS } from './resilience.constants';
import { OperationTimeoutError } from './resilience.errors';
import type {
  BreakerOptions,
  CircuitInfo,
  ResilienceModuleOptions,
  RetryOptions,
  RetryStats,
} from './resilience.interfaces';
import { RESILIENCE_MODULE_OPTIONS } from './resilience.module-definition';
import { RetryBudget } from './retry-budget';
import { RetryPolicy } from './retry.policy';

/**
 * The named policies of one application: circuit breakers (`get`), retry policies with their
 * per-dependency budgets (`retry`), and timeouts (`timeout`). Decorators, interceptors and the
 * database guard look their policies up here.
 */
@Injectable()
export class ResiliencePolicies {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly retries = new Map<string, RetryPolicy>();
  private readonly budgets = new Map<string, RetryBudget>();
  private readonly timeouts = new Map<number, TimeoutPolicy>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly created: ((breaker: CircuitBreaker) => void)[] = [];

  constructor(
    @Inject(RESILIENCE_MODULE_OPTIONS) private readonly options: ResilienceModuleOptions,
    private readonly handler: DatabaseExceptionHandler,
  ) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  /** The named breaker, created on first use with the module's defaults (and `overrides`). */
  get(name: string, overrides: BreakerOptions = {}): CircuitBreaker {
    let breaker = this.breakers.get(name);
    if (!breaker) {
      const options = {
        ...RESILIENCE_DEFAULTS.breaker,
        ...withoutUndefined(this.options.breaker),
        ...withoutUndefined(overrides),
      };
      breaker = new CircuitBreaker(name, options, this.clock, (error) =>
        this.handler.isFailure(error),
      );
      this.breakers.set(name, breaker);
      for (const listener of this.created) listener(breaker);
    }
    return breaker;
  }

  /** Every breaker, as `GET /health/circuits` lists them. */
  list(): CircuitInfo[] {
    return [...this.breakers.values()].map((breaker) => breaker.info());
  }

  /** Calls `listener` for every breaker, existing and future (metrics use it). */
  onBreaker(listener: (breaker: CircuitBreaker) => void): void {
    this.created.push(listener);
    for (const breaker of this.breakers.values()) listener(breaker);
  }

  /**
   * The retry policy of a dependency. Options apply when it is first created; the budget is
   * shared by every caller of that dependency.
   */
  retry(name: string, overrides: RetryOptions = {}): RetryPolicy {
    const key = `${name}\u0000${JSON.stringify(overrides)}`;
    let policy = this.retries.get(key);
    if (!policy) {
      const options = {
        ...RESILIENCE_DEFAULTS.retry,
        ...withoutUndefined(this.options.retry),
        ...withoutUndefined(overrides),
      };
      policy = new RetryPolicy(
        name,
        options,
        this.budget(name),
        (e) => this.handler.isTransient(e),
        this.random,
      );
      this.retries.set(key, policy);
    }
    return policy;
  }

  /** Retry counters per dependency. */
  retryStats(): RetryStats[] {
    const byName = new Map<string, RetryStats>();
    for (const policy of this.retries.values()) {
      const stats = policy.stats();
      const total = byName.get(stats.name);
      if (!total) byName.set(stats.name, { ...stats });
      else {
        total.calls += stats.calls;
        total.retries += stats.retries;
        total.budgetExhausted += stats.budgetExhausted;
      }
    }
    return [...byName.values()];
  }

  /**
   * Runs `fn` with a deadline: past `ms`, the call rejects with `OperationTimeoutError` and the
   * `AbortSignal` it runs under aborts, which interrupts any DuckDB statement it has running.
   */
  async timeout<T>(ms: number, fn: () => Promise<T>): Promise<T> {
    let policy = this.timeouts.get(ms);
    if (!policy) {
      policy = cockatielTimeout(ms, TimeoutStrategy.Aggressive);
      this.timeouts.set(ms, policy);
    }
    try {
      return await policy.execute(({ signal }) => statementSignalStorage.run(signal, fn));
    } catch (error) {
      if (error instanceof TaskCancelledError) throw new OperationTimeoutError(ms);
      throw error;
    }
  }

  private budget(name: string): RetryBudget {
    let budget = this.budgets.get(name);
    if (!budget) {
      const options = { ...RESILIENCE_DEFAULTS.budget, ...withoutUndefined(this.options.budget) };
      budget = new RetryBudget(options.ratio, options.maxTokens);
      this.budgets.set(name, budget);
    }
    return budget;
  }
}

/**
 * The former name of {@link ResiliencePolicies}, kept so existing imports and injections keep
 * working (it is the same class, so the same provider).
 * @deprecated Use `ResiliencePolicies`: it owns retries, budgets and timeouts, not only breakers.
 */
export const CircuitBreakerRegistry = ResiliencePolicies;
/** @deprecated Use `ResiliencePolicies`. */
export type CircuitBreakerRegistry = ResiliencePolicies;
