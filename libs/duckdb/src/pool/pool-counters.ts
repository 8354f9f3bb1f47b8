import type { PoolStats } from '../duckdb.interfaces';
import type { PoolClock } from './pool-clock';

/** The counters in {@link PoolStats}, and the recent acquire timeouts readiness looks at. */
export class PoolCounters {
  created = 0;
  acquired = 0;
  released = 0;
  timeouts = 0;
  healthChecks = 0;
  healthCheckFailures = 0;
  private acquireMsTotal = 0;
  private maxAcquireMs = 0;
  /** When the most recent acquire timeouts happened (the clock's ms), newest last; at most 256. */
  private readonly timeoutTimes: number[] = [];

  /** `clock` dates the timeouts; the pool passes its own. */
  constructor(private readonly clock: Pick<PoolClock, 'now'>) {}

  /** A connection was lent after waiting `waitedMs`. */
  lent(waitedMs: number): void {
    this.acquired++;
    this.acquireMsTotal += waitedMs;
    if (waitedMs > this.maxAcquireMs) this.maxAcquireMs = waitedMs;
  }

  /** A caller gave up waiting. */
  timedOut(): void {
    this.timeouts++;
    this.timeoutTimes.push(this.clock.now());
    if (this.timeoutTimes.length > 256) this.timeoutTimes.shift();
  }

  /** How many callers gave up waiting in the last `windowMs`. */
  timeoutsWithin(windowMs: number): number {
    const since = this.clock.now() - windowMs;
    let count = 0;
    for (let i = this.timeoutTimes.length - 1; i >= 0 && this.timeoutTimes[i] >= since; i--) {
      count++;
    }
    return count;
  }

  /** The counter fields of {@link PoolStats}. */
  snapshot(): Pick<
    PoolStats,
    | 'created'
    | 'acquired'
    | 'released'
    | 'timeouts'
    | 'healthChecks'
    | 'healthCheckFailures'
    | 'avgAcquireMs'
    | 'maxAcquireMs'
  > {
    return {
      created: this.created,
      acquired: this.acquired,
      released: this.released,
      timeouts: this.timeouts,
      healthChecks: this.healthChecks,
      healthCheckFailures: this.healthCheckFailures,
      avgAcquireMs: this.acquired === 0 ? 0 : round(this.acquireMsTotal / this.acquired),
      maxAcquireMs: round(this.maxAcquireMs),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
