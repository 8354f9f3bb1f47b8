import type { BreakerOptions, RetryBudgetOptions, RetryOptions } from './resilience.interfaces';

/** The name of the breaker that guards every `DuckDbClient` statement. */
export const DATABASE_CIRCUIT = 'database';

/** Metadata key marking methods wrapped by `@Retry`, `@CircuitBreaker` or `@Timeout`. */
export const RESILIENCE_METADATA = 'RESILIENCE:POLICIES';

/** Metadata key of `@UseResilience` options read by `ResilienceInterceptor`. */
export const RESILIENCE_INTERCEPTOR_OPTIONS = 'RESILIENCE:INTERCEPTOR_OPTIONS';

/** Defaults (API.md §4: RETRY_*, BREAKER_*). */
export const RESILIENCE_DEFAULTS: {
  retry: Required<RetryOptions>;
  budget: Required<RetryBudgetOptions>;
  breaker: Required<BreakerOptions>;
} = {
  retry: { maxRetries: 3, baseDelayMs: 50, maxDelayMs: 2_000, jitter: 'full' },
  budget: { ratio: 0.1, maxTokens: 10 },
  breaker: {
    failureThreshold: 5,
    resetTimeoutMs: 30_000,
    halfOpenMaxCalls: 1,
    slowCallDurationMs: 2_000,
    slowCallRateThreshold: 0.5,
    slowCallWindow: 20,
  },
};
