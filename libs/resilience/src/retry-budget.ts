/**
 * A token bucket that bounds retries to a share of calls: every call deposits `ratio` tokens (up
 * to `maxTokens`), every retry spends one. During an outage the bucket empties after a few
 * retries, so retries stop multiplying the load on a dependency that is already down.
 */
export class RetryBudget {
  /** Kept in thousandths of a token: ten deposits of 0.1 must make exactly one token. */
  private milli: number;
  private readonly depositMilli: number;
  private readonly maxMilli: number;

  constructor(ratio: number, maxTokens: number) {
    this.depositMilli = Math.round(ratio * 1000);
    this.maxMilli = Math.round(maxTokens * 1000);
    this.milli = this.maxMilli;
  }

  /** Records a call (first attempts only). */
  deposit(): void {
    this.milli = Math.min(this.maxMilli, this.milli + this.depositMilli);
  }

  /** Takes a token for one retry; false when the budget is spent. */
  tryWithdraw(): boolean {
    if (this.milli < 1000) return false;
    this.milli -= 1000;
    return true;
  }

  /** Tokens left (for tests and metrics). */
  get available(): number {
    return this.milli / 1000;
  }
}
