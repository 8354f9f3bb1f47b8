import { AppBoundMethods } from '@lib/common';
import { currentTransaction } from '@lib/duckdb';
import type { CircuitBreaker as CircuitBreakerPolicy } from './circuit-breaker';
import type { ResiliencePolicies } from './resilience-policies';
import type { RetryPolicy } from './retry.policy';
import { RESILIENCE_METADATA } from './resilience.constants';
import type { BreakerOptions, RetryOptions } from './resilience.interfaces';

/** Binds `@Retry` / `@CircuitBreaker` / `@Timeout` methods to their application's policies. */
export const RESILIENT_METHODS = new AppBoundMethods<ResiliencePolicies>(
  'ResilienceModule',
  RESILIENCE_METADATA,
);

/** Options of {@link Retry}. */
export interface RetryDecoratorOptions extends RetryOptions {
  /** The dependency whose retry budget this draws on. Default: `Class.method`. */
  dependency?: string;
}

/**
 * Retries the method on transient failures (classified by `DatabaseExceptionHandler`), with
 * capped exponential backoff and jitter, within the dependency's retry budget. Never retries an
 * open-circuit rejection, and never inside a transaction (the owning scope reruns work there).
 *
 * @example \@Retry({ maxRetries: 2, dependency: 'database' })
 */
export function Retry(options: RetryDecoratorOptions = {}): MethodDecorator {
  return (target, propertyKey, descriptor) => {
    const { dependency = `${target.constructor.name}.${String(propertyKey)}`, ...retry } = options;
    // Looked up once per application, not on every call.
    const retryPolicies = new WeakMap<ResiliencePolicies, RetryPolicy>();
    return RESILIENT_METHODS.decorator('Retry', (policies, invoke) => {
      if (currentTransaction()) return invoke();
      let policy = retryPolicies.get(policies);
      if (!policy) {
        policy = policies.retry(dependency, retry);
        retryPolicies.set(policies, policy);
      }
      return policy.execute(invoke);
    })(target, propertyKey, descriptor);
  };
}

/**
 * Runs the method through the named circuit breaker (created with the module's defaults and
 * `overrides` on first use).
 *
 * @example \@CircuitBreaker('llm-gateway')
 */
export function CircuitBreaker(name: string, overrides: BreakerOptions = {}): MethodDecorator {
  const breakers = new WeakMap<ResiliencePolicies, CircuitBreakerPolicy>();
  return RESILIENT_METHODS.decorator('CircuitBreaker', (policies, invoke) => {
    let breaker = breakers.get(policies);
    if (!breaker) {
      breaker = policies.get(name, overrides);
      breakers.set(policies, breaker);
    }
    return breaker.execute(invoke);
  });
}

/**
 * Gives the method a deadline: past `ms` it rejects with `OperationTimeoutError` and the DuckDB
 * statement it has running is interrupted.
 *
 * @example \@Timeout(500)
 */
export function Timeout(ms: number): MethodDecorator {
  if (!Number.isInteger(ms) || ms <= 0)
    throw new TypeError('@Timeout: ms must be a positive integer');
  return RESILIENT_METHODS.decorator('Timeout', (policies, invoke) => policies.timeout(ms, invoke));
}
