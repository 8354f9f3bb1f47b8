import { Logger } from '@nestjs/common';
import type { DuckDBInstance } from '@duckdb/node-api';
import {
  DatabaseUnavailableError,
  PoolAcquireTimeoutError,
  PoolDrainingError,
} from '../duckdb.errors';
import { classifyDriverError } from '../duckdb.error-classification';
import type { DuckDbPoolOptions, FaultInjector, PoolStats } from '../duckdb.interfaces';
import { IdleSweeper, sweepPeriod } from './idle-sweep';
import { InstanceRecovery } from './instance-recovery';
import { type CancelTimer, type PoolClock, systemPoolClock } from './pool-clock';
import { PoolConnections } from './pool-connections';
import type { PooledConnection, PooledConnectionOptions } from './pooled-connection';
import { PoolCounters } from './pool-counters';
import { type Waiter, WaiterQueue } from './waiter-queue';

/** Why callers are turned away while a reopen keeps failing. */
const CANNOT_REOPEN = 'The database was invalidated by a fatal error and cannot be reopened yet.';

/** Settings the pool needs, every default applied; `clock` defaults to {@link systemPoolClock}. */
export type ResolvedPoolOptions = Required<DuckDbPoolOptions> &
  PooledConnectionOptions & { clock?: PoolClock };

/**
 * A bounded pool of DuckDB connections over one `DuckDBInstance`.
 *
 * - Lends each connection to one caller at a time; waiters are served strictly first come, first
 *   served, and give up with `PoolAcquireTimeoutError` after `acquireTimeoutMs`.
 * - Keeps `min` connections open; idle connections above `min` are closed after `idleTimeoutMs`.
 * - Replaces connections that a driver error showed to be broken, and validates long-idle ones.
 * - With `enabled: false` it is a single shared connection with a FIFO queue of callers.
 */
export class DuckDbPool {
  private readonly logger = new Logger(DuckDbPool.name);
  private readonly waiters = new WaiterQueue();
  private drainPromise: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private stopSweeper: CancelTimer | undefined;
  private readonly faults: { injector?: FaultInjector } = {};
  /** Opens a fresh instance on the same file after DuckDB invalidated the current one. */
  private reopener: (() => Promise<DuckDBInstance>) | undefined;
  /** Replaces an invalidated instance; `open()` waits for it. */
  private readonly recovery = new InstanceRecovery(this.logger);
  private readonly clock: PoolClock;
  private readonly counters: PoolCounters;
  private readonly sweeper: IdleSweeper;
  private readonly connections: PoolConnections;
  private readonly idle: PooledConnection[];

  constructor(
    private instance: DuckDBInstance,
    readonly options: ResolvedPoolOptions,
  ) {
    this.clock = options.clock ?? systemPoolClock;
    this.counters = new PoolCounters(this.clock);
    this.connections = new PoolConnections(
      { ...options, faults: this.faults },
      this.clock,
      this.counters,
      this.logger,
    );
    this.idle = this.connections.idle;
    if (!options.enabled) {
      this.options = { ...options, min: 1, max: 1 };
    }
    const { min, max } = this.options;
    if (min > max) throw new RangeError(`pool min (${min}) must not exceed max (${max})`);
    this.sweeper = new IdleSweeper(
      {
        idle: this.idle,
        owns: (connection) => this.connections.all.has(connection),
        openCount: () => this.connections.all.size,
        destroy: (connection) => this.connections.destroy(connection),
        failed: (connection) => {
          if (connection.invalidated) this.recover(connection);
          this.connections.destroy(connection);
        },
        refill: () => this.refill(),
        settled: () => this.checkDrained(),
      },
      this.options,
      this.clock,
      this.counters,
    );
  }

  /** Opens `min` connections and starts the idle sweeper. Called by the module at startup. */
  async start(): Promise<void> {
    const opened = await Promise.all(Array.from({ length: this.options.min }, () => this.open()));
    for (const connection of opened) this.idle.push(connection);
    this.stopSweeper = this.clock.setInterval(
      () => this.sweeper.sweep(),
      sweepPeriod(this.options),
    );
  }

  /**
   * Lends a connection to `fn` and takes it back when the returned promise settles, whatever the
   * outcome. This is the only way application code should hold a connection.
   *
   * @example
   * const n = await pool.withConnection((c) => c.run('SELECT 1 AS one', [], 'rows', { operation: 'ping' }));
   */
  async withConnection<T>(fn: (connection: PooledConnection) => Promise<T>): Promise<T> {
    const connection = await this.acquire();
    try {
      return await fn(connection);
    } finally {
      this.release(connection);
    }
  }

  /** Borrows a connection; pair every call with {@link release}. Prefer {@link withConnection}. */
  acquire(): Promise<PooledConnection> {
    if (this.drainPromise) return Promise.reject(new PoolDrainingError());
    if (this.recovery.failing) {
      return Promise.reject(new DatabaseUnavailableError({ message: CANNOT_REOPEN }));
    }
    if (this.waiters.length === 0 && this.idle.length > 0) {
      return Promise.resolve(this.lend(this.idle.pop() as PooledConnection, this.clock.now()));
    }
    const { acquireTimeoutMs } = this.options;
    const waiting = this.waiters.enqueue(this.clock, acquireTimeoutMs, (w) => this.expire(w));
    this.dispatch();
    return waiting;
  }

  /** Gives a borrowed connection back; a broken one is closed and replaced. */
  release(connection: PooledConnection): void {
    if (this.idle.includes(connection)) {
      throw new Error(`DuckDB connection ${connection.id} was released twice`);
    }
    this.counters.released++;
    if (connection.invalidated) this.recover(connection);
    if (connection.broken || !this.connections.all.has(connection)) {
      this.logger.warn(`Replacing broken DuckDB connection ${connection.id}`);
      this.connections.destroy(connection);
      this.refill();
    } else {
      connection.idleSince = this.clock.now();
      this.idle.push(connection);
      this.dispatch();
    }
    this.checkDrained();
  }

  /**
   * Test affordance: `injector` sees every statement before the driver does and may return an
   * error to throw instead (classified like a driver error). `undefined` removes it.
   *
   * @example pool.setFaultInjector(() => new Error('IO Error: disk on fire'))
   */
  setFaultInjector(injector: FaultInjector | undefined): void {
    this.faults.injector = injector;
  }

  /**
   * Lets the pool recover from an invalidated database by itself: when a statement reports the
   * instance invalidated (DuckDB's answer to a fatal error, such as a checkpoint that could not
   * write on a full disk), every connection is retired and `reopen` is called — again with backoff
   * (250 ms doubling to 5 s) until it succeeds — and new connections come from the instance it
   * returns. Without a reopener, an invalidated database fails every statement until the process
   * restarts.
   */
  setReopener(reopen: (() => Promise<DuckDBInstance>) | undefined): void {
    this.reopener = reopen;
  }

  /** True while an invalidated instance is being replaced. */
  get reopening(): boolean {
    return this.recovery.inProgress !== undefined;
  }

  /** How many callers gave up waiting for a connection in the last `windowMs`. */
  timeoutsWithin(windowMs: number): number {
    return this.counters.timeoutsWithin(windowMs);
  }

  /** True once `drain()` has been called. */
  get draining(): boolean {
    return this.drainPromise !== undefined;
  }

  /** A snapshot of the pool's statistics (`acquired`/`released` count lends to callers). */
  stats(): PoolStats {
    const size = this.connections.all.size;
    return {
      enabled: this.options.enabled,
      min: this.options.min,
      max: this.options.max,
      size,
      idle: this.idle.length,
      inUse: size - this.idle.length - this.sweeper.checking,
      waiting: this.waiters.length,
      ...this.counters.snapshot(),
    };
  }

  /**
   * Stops lending to new callers, lets callers already waiting be served, waits until every
   * borrowed connection is back, then closes all connections. Idempotent.
   */
  drain(): Promise<void> {
    if (!this.drainPromise) {
      this.stopSweeper?.();
      this.drainPromise = new Promise<void>((resolve) => (this.drained = resolve));
      this.recovery.wakeUp();
      this.checkDrained();
    }
    return this.drainPromise;
  }

  private lend(connection: PooledConnection, since: number): PooledConnection {
    this.counters.lent(this.clock.now() - since);
    return connection;
  }

  /** Hands idle connections to waiters in arrival order, opening new ones up to `max`. */
  private dispatch(): void {
    while (this.waiters.length > 0 && this.idle.length > 0) {
      const waiter = this.waiters.shift() as Waiter;
      waiter.cancelTimer?.();
      waiter.resolve(this.lend(this.idle.pop() as PooledConnection, waiter.enqueuedAt));
    }
    const { creating } = this.connections;
    const missing = Math.min(
      this.waiters.length - creating,
      this.connections.missingBelow(this.options.max),
    );
    for (let i = 0; i < missing; i++) this.grow();
  }

  /** Tops the pool back up to `min` (unless it drains) and serves waiters. */
  private refill(): void {
    const missing = this.drainPromise ? 0 : this.connections.missingBelow(this.options.min);
    for (let i = 0; i < missing; i++) this.grow();
    this.dispatch();
  }

  private grow(): void {
    this.open().then(
      (connection) => {
        this.idle.push(connection);
        this.dispatch();
        // A connection opened after a reopen may land while the pool drains.
        this.checkDrained();
      },
      (error: unknown) => {
        this.logger.error(`Could not open a DuckDB connection: ${String(error)}`);
        this.waiters.rejectNext(classifyDriverError(error, { operation: 'connect' }));
        this.checkDrained();
      },
    );
  }

  private open(): Promise<PooledConnection> {
    const draining = (): boolean => this.drainPromise !== undefined;
    return this.connections.open(() => this.recovery.connect(() => this.instance, draining));
  }

  private expire(waiter: Waiter): void {
    if (!this.waiters.remove(waiter)) return;
    this.counters.timedOut();
    waiter.reject(new PoolAcquireTimeoutError({ waitedMs: this.options.acquireTimeoutMs }));
    this.checkDrained();
  }

  /**
   * Retires every connection of an invalidated instance (idle ones now, borrowed ones when they
   * come back) and reopens the database; once it is open, `min` connections are opened again and
   * waiters are served. One recovery at a time.
   */
  private recover(reporter: PooledConnection): void {
    const reopen = this.reopener;
    if (!reopen || this.recovery.inProgress || this.drainPromise) return;
    // A late report from a connection of an instance already replaced says nothing about this one.
    if (reporter.generation !== this.recovery.generation) return;
    for (const connection of this.connections.all) connection.broken = true;
    this.connections.destroyIdle();
    this.recovery.start(reopen, {
      draining: () => this.drainPromise !== undefined,
      adopt: (instance) => (this.instance = instance),
      failed: () =>
        this.waiters.rejectAll(new DatabaseUnavailableError({ message: CANNOT_REOPEN })),
      finished: () => (this.drainPromise ? this.checkDrained() : this.refill()),
    });
  }

  private checkDrained(): void {
    if (!this.drained || this.waiters.length > 0 || this.recovery.inProgress) return;
    // Connections being health-checked come back to idle first.
    if (this.idle.length < this.connections.all.size || this.connections.creating > 0) return;
    this.connections.destroyAll();
    const done = this.drained;
    this.drained = undefined;
    done();
  }
}
