/**
 * A token bucket that bounds retries to a share of calls: every call deposits `ratio` tokens (up
 * to `maxTokens`), every retry spends one. During an outage the bucket empties after a few
 * retries, so retries stop multiplying the load on a dependency that is already down.
 */
export class RetryBudget {
  private tokens: number;

  constructor(
    private readonly ratio: number,
    private readonly maxTokens: number,
  ) {
    this.tokens = maxTokens;
  }

  /** Records a call (first attempts only). */
  deposit(): void {
    this.tokens = Math.min(this.maxTokens, this.tokens + this.ratio);
  }

  /** Takes a token for one retry; false when the budget is spent. */
  tryWithdraw(): boolean {
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens left (for tests and metrics). */
  get available(): number {
    return this.tokens;
  }
}
