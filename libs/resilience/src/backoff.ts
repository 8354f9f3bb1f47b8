import { backoffDelay } from '@lib/common';
import type { IBackoff, IBackoffFactory } from 'cockatiel';
import type { Jitter } from './resilience.interfaces';

/**
 * Capped exponential backoff with jitter, for cockatiel's retry policy, with an injectable random
 * source: `@lib/common`'s {@link backoffDelay} as a cockatiel backoff factory. Before retry n
 * (from 0):
 * - `full`: a random delay in [0, min(maxDelay, baseDelay × 2ⁿ));
 * - `decorrelated`: a random delay in [baseDelay, 3 × previous delay), capped at maxDelay.
 */
export class JitteredBackoff implements IBackoffFactory<unknown> {
  constructor(
    private readonly baseDelayMs: number,
    private readonly maxDelayMs: number,
    private readonly jitter: Jitter,
    private readonly random: () => number = Math.random,
  ) {}

  next(): IBackoff<unknown> {
    return this.step(0, this.baseDelayMs);
  }

  /** The delay before retry `attempt` given the previous delay (exposed for tests). */
  delay(attempt: number, previousMs: number): number {
    const { baseDelayMs, maxDelayMs, jitter, random } = this;
    return backoffDelay(attempt, previousMs, { baseDelayMs, maxDelayMs, jitter, random });
  }

  private step(attempt: number, previousMs: number): IBackoff<unknown> {
    const duration = this.delay(attempt, previousMs);
    return { duration, next: () => this.step(attempt + 1, duration) };
  }
}
