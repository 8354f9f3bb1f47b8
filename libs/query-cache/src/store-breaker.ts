/** States of the {@link StoreBreaker}. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * A small consecutive-failure circuit breaker around the cache store: after `threshold` failures
 * in a row it opens and every call is skipped; after `resetMs` one trial call is let through
 * (half-open); its success closes the breaker, its failure opens it again.
 */
export class StoreBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private current: BreakerState = 'closed';

  constructor(
    private readonly threshold: number,
    private readonly resetMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The state now (an open breaker past its reset time reads as half-open). */
  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.resetMs) return 'half-open';
    return this.current;
  }

  /** Whether a call may go to the store now; in half-open, only one trial at a time. */
  allow(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    this.current = 'half-open';
    return true;
  }

  /** Records a successful call. */
  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
    this.current = 'closed';
  }

  /** Records a failed call. */
  failure(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.current === 'half-open' || this.failures >= this.threshold) {
      this.current = 'open';
      this.openedAt = this.now();
    }
  }
}
