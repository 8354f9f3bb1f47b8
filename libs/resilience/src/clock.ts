/** A source of time, injectable so breakers and budgets can be tested without sleeping. */
export interface Clock {
  /** Milliseconds since an arbitrary origin (monotonic where possible). */
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => performance.now() };
