import type { TransactionStats } from '../transactions.interfaces';

/** The counters that a transaction event increments by one. */
export type TransactionCounter =
  'committed' | 'rolledBack' | 'retried' | 'conflicts' | 'timeouts' | 'hookFailures';

/**
 * The transaction engine's counters and attempt durations, read through
 * `TransactionManager.stats()`.
 */
export class TransactionStatistics {
  private readonly counters = {
    started: 0,
    committed: 0,
    rolledBack: 0,
    retried: 0,
    conflicts: 0,
    timeouts: 0,
    hookFailures: 0,
    active: 0,
    finished: 0,
    durationMsTotal: 0,
    maxDurationMs: 0,
  };

  /** Counts one event. */
  count(counter: TransactionCounter): void {
    this.counters[counter]++;
  }

  /** Counts an attempt as started and active; returns its start time for {@link attemptFinished}. */
  attemptStarted(): number {
    const started = performance.now();
    this.counters.started++;
    this.counters.active++;
    return started;
  }

  /** Counts an attempt as no longer active and records its duration. */
  attemptFinished(started: number): void {
    this.counters.active--;
    this.counters.finished++;
    const duration = performance.now() - started;
    this.counters.durationMsTotal += duration;
    if (duration > this.counters.maxDurationMs) this.counters.maxDurationMs = duration;
  }

  /** A snapshot of the counters. */
  snapshot(): TransactionStats {
    const c = this.counters;
    return {
      started: c.started,
      committed: c.committed,
      rolledBack: c.rolledBack,
      retried: c.retried,
      conflicts: c.conflicts,
      timeouts: c.timeouts,
      hookFailures: c.hookFailures,
      active: c.active,
      avgDurationMs: c.finished === 0 ? 0 : round(c.durationMsTotal / c.finished),
      maxDurationMs: round(c.maxDurationMs),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
