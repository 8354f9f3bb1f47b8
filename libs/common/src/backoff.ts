/** Jitter of a backoff: `none` (exactly capped exponential), `full` or `decorrelated`. */
export type Jitter = 'none' | 'full' | 'decorrelated';

/** How {@link backoffDelay} spaces attempts. */
export interface BackoffOptions {
  /** The first step, ms; doubles per attempt. */
  baseDelayMs: number;
  /** The cap, ms. */
  maxDelayMs: number;
  /** Default `full`. */
  jitter?: Jitter;
  /** Random source in [0, 1) (tests pass their own). Default `Math.random`. */
  random?: () => number;
}

/**
 * The delay before retry `attempt` (from 0), capped exponential:
 * - `none`: min(maxDelay, baseDelay × 2ⁿ);
 * - `full`: a random delay in [0, min(maxDelay, baseDelay × 2ⁿ));
 * - `decorrelated`: a random delay in [baseDelay, 3 × `previousMs`), capped at maxDelay.
 *
 * The one backoff of these libraries: retries (`@lib/resilience`), transaction reruns on
 * conflict and database reopens (`@lib/duckdb`).
 *
 * @example await sleep(backoffDelay(attempt, 0, { baseDelayMs: 50, maxDelayMs: 2000 }));
 */
export function backoffDelay(attempt: number, previousMs: number, options: BackoffOptions): number {
  const { baseDelayMs, maxDelayMs, jitter = 'full', random = Math.random } = options;
  const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
  if (jitter === 'none') return exponential;
  if (jitter === 'full') return random() * exponential;
  const upper = Math.max(baseDelayMs, previousMs * 3);
  return Math.min(maxDelayMs, baseDelayMs + random() * (upper - baseDelayMs));
}
