import type { DuckDbPoolOptions } from '../duckdb.interfaces';
import type { PooledConnection } from './pooled-connection';

/** The idle limits a sweep applies. */
type SweepLimits = Pick<
  Required<DuckDbPoolOptions>,
  'min' | 'idleTimeoutMs' | 'healthCheckAfterIdleMs'
>;

/**
 * How often the pool's idle sweeper runs: half the shorter of `idleTimeoutMs` and
 * `healthCheckAfterIdleMs`, at least every 15 s and at most every 250 ms.
 */
export function sweepPeriod(limits: SweepLimits): number {
  return Math.max(250, Math.min(limits.idleTimeoutMs, limits.healthCheckAfterIdleMs, 30_000) / 2);
}

/**
 * Takes out of `idle` (in place) the connections idle for `idleTimeoutMs` or longer at `now`, while
 * more than `min` of the `open` connections would remain, and returns them for closing.
 */
export function takeExpired(
  idle: PooledConnection[],
  open: number,
  now: number,
  limits: SweepLimits,
): PooledConnection[] {
  const expired: PooledConnection[] = [];
  for (let i = 0; i < idle.length && open - expired.length > limits.min;) {
    if (now - idle[i].idleSince >= limits.idleTimeoutMs) expired.push(...idle.splice(i, 1));
    else i++;
  }
  return expired;
}
