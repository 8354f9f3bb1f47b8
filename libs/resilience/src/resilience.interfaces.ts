import type { Clock } from './clock';

/** Jitter of the retry backoff. */
export type Jitter = 'full' | 'decorrelated';

/** Retry settings. */
export interface RetryOptions {
  /** Retries after the first call (3 = up to 4 calls). Default 3. */
  maxRetries?: number;
  /** First backoff step, ms. Default 50. */
  baseDelayMs?: number;
  /** Backoff cap, ms. Default 2000. */
  maxDelayMs?: number;
  /** `full` (random in [0, step]) or `decorrelated`. Default `full`. */
  jitter?: Jitter;
}

/** The retry budget: a token bucket per dependency that keeps retries near a share of calls. */
export interface RetryBudgetOptions {
  /** Tokens each call deposits; one retry spends one token. Default 0.1 (retries ≲ 10% of calls). */
  ratio?: number;
  /** Bucket size, which also lets a quiet service retry a few times at once. Default 10. */
  maxTokens?: number;
}

/** Circuit breaker settings. */
export interface BreakerOptions {
  /** Consecutive failures that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long the circuit stays open before half-open, ms. Default 30000. */
  resetTimeoutMs?: number;
  /** Trial calls let through while half-open (the rest are rejected at once). Default 1. */
  halfOpenMaxCalls?: number;
  /** A call slower than this counts as slow, ms. Default 2000. */
  slowCallDurationMs?: number;
  /** Share of slow calls in the window that opens the circuit. Default 0.5. */
  slowCallRateThreshold?: number;
  /** Calls in the sliding window (and the minimum before the slow rate counts). Default 20. */
  slowCallWindow?: number;
}

/** Options of `ResilienceModule.forRoot` / `forRootAsync`. */
export interface ResilienceModuleOptions {
  /** Defaults of `@Retry()` and of the database guard's read retries. */
  retry?: RetryOptions;
  /** The retry budget per dependency. */
  budget?: RetryBudgetOptions;
  /** Defaults of every named breaker (`ResiliencePolicies.get`). */
  breaker?: BreakerOptions;
  /**
   * Guard every `DuckDbClient` statement with the `database` breaker (and retry failed reads
   * outside transactions). Default true.
   */
  guardDatabase?: boolean;
  /** The clock of breakers (tests pass a fake one). Default: the system clock. */
  clock?: Clock;
  /** Random source in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
}

/** One entry of `GET /health/circuits`. */
export interface CircuitInfo {
  name: string;
  state: 'closed' | 'open' | 'half-open';
  /** Failures since the circuit last closed (or consecutive, while closed). */
  failures: number;
  /** Successful calls in all. */
  successes: number;
  /** Calls rejected without being attempted. */
  rejected: number;
  /** When the circuit last opened (ISO-8601), or null. */
  openedAt: string | null;
}

/** Retry counters per dependency. */
export interface RetryStats {
  name: string;
  calls: number;
  retries: number;
  /** Retries refused because the budget was empty. */
  budgetExhausted: number;
}
