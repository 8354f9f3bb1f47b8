import type { DuckDbPoolOptions } from '../duckdb.interfaces';
import type { PoolClock } from './pool-clock';
import type { PoolCounters } from './pool-counters';
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

/** What the {@link IdleSweeper} needs from the pool. */
export interface SweptPool {
  /** The idle connections, in lending order (the sweeper takes some out and puts them back). */
  readonly idle: PooledConnection[];
  /** Whether `connection` is still one of the pool's (drain may have closed them all). */
  owns(connection: PooledConnection): boolean;
  /** How many connections are open. */
  openCount(): number;
  /** Closes a connection and forgets it. */
  destroy(connection: PooledConnection): void;
  /** A connection failed its check (the pool reopens the database if it was invalidated). */
  failed(connection: PooledConnection): void;
  /** After a sweep: open connections up to `min` again and serve waiters. */
  refill(): void;
  /** A connection came back from its check: the pool may finish draining. */
  settled(): void;
}

/**
 * The pool's periodic sweep: closes idle connections above `min` past `idleTimeoutMs`, and runs
 * `SELECT 1` on connections idle past `healthCheckAfterIdleMs`, closing the ones that fail.
 */
export class IdleSweeper {
  /** Connections being checked now (neither idle nor lent). */
  checking = 0;

  constructor(
    private readonly pool: SweptPool,
    private readonly limits: SweepLimits,
    private readonly clock: PoolClock,
    private readonly counters: PoolCounters,
  ) {}

  async sweep(): Promise<void> {
    const now = this.clock.now();
    const { idle } = this.pool;
    for (const expired of takeExpired(idle, this.pool.openCount(), now, this.limits)) {
      this.pool.destroy(expired);
    }
    const stale = idle.filter((c) => now - c.idleSince >= this.limits.healthCheckAfterIdleMs);
    for (const connection of stale) {
      const index = idle.indexOf(connection);
      if (index < 0) continue;
      idle.splice(index, 1);
      await this.check(connection);
    }
    this.pool.refill();
  }

  private async check(connection: PooledConnection): Promise<void> {
    this.checking++;
    this.counters.healthChecks++;
    try {
      await connection.run('SELECT 1', [], 'rows', { operation: 'healthCheck' });
      connection.idleSince = this.clock.now();
      if (this.pool.owns(connection)) this.pool.idle.push(connection);
    } catch {
      this.counters.healthCheckFailures++;
      this.pool.failed(connection);
    } finally {
      this.checking--;
      this.pool.settled();
    }
  }
}
