import type { Logger } from '@nestjs/common';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { PoolClock } from './pool-clock';
import type { PoolCounters } from './pool-counters';
import { PooledConnection, type PooledConnectionOptions } from './pooled-connection';

/**
 * The pool's connections: every open one (`all`), the idle ones among them (`idle`, most recently
 * returned last) and how many are being opened (`creating`). It wraps raw driver connections and
 * closes them; deciding when to do either stays with the pool.
 */
export class PoolConnections {
  readonly all = new Set<PooledConnection>();
  readonly idle: PooledConnection[] = [];
  /** Opens in flight. */
  creating = 0;
  private nextId = 1;

  constructor(
    private readonly settings: PooledConnectionOptions,
    private readonly clock: PoolClock,
    private readonly counters: PoolCounters,
    private readonly logger: Logger,
  ) {}

  /** Open connections, counting those being opened, short of `min`. */
  missingBelow(min: number): number {
    return min - this.all.size - this.creating;
  }

  /** Opens one connection through `connect`, counted in `creating` while under way. */
  async open(
    connect: () => Promise<{ raw: DuckDBConnection; generation: number }>,
  ): Promise<PooledConnection> {
    this.creating++;
    try {
      const { raw, generation } = await connect();
      return this.adopt(raw, generation);
    } finally {
      this.creating--;
    }
  }

  /** Wraps a freshly opened driver connection of instance `generation` and counts it. */
  adopt(raw: DuckDBConnection, generation: number): PooledConnection {
    const { queryTimeoutMs, statementCacheSize, faults } = this.settings;
    const connection = new PooledConnection(this.nextId++, raw, {
      queryTimeoutMs,
      statementCacheSize,
      faults,
    });
    connection.generation = generation;
    connection.idleSince = this.clock.now();
    this.all.add(connection);
    this.counters.created++;
    return connection;
  }

  /** Forgets `connection` and closes it; a failing close is logged, never thrown. */
  destroy(connection: PooledConnection): void {
    this.all.delete(connection);
    try {
      connection.close();
    } catch (error) {
      this.logger.warn(`Closing DuckDB connection ${connection.id} failed: ${String(error)}`);
    }
  }

  /** Closes every idle connection. */
  destroyIdle(): void {
    for (const connection of this.idle.splice(0)) this.destroy(connection);
  }

  /** Closes every connection (the pool is drained). */
  destroyAll(): void {
    for (const connection of [...this.all]) this.destroy(connection);
    this.idle.length = 0;
  }
}
