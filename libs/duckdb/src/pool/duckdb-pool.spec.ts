import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbDatabase } from '../duckdb.database';
import {
  DatabaseUnavailableError,
  PoolAcquireTimeoutError,
  PoolDrainingError,
  QueryFailedError,
} from '../duckdb.errors';
import type { DuckDbPoolOptions } from '../duckdb.interfaces';
import { resolveDuckDbOptions } from '../duckdb.options';
import { DuckDbPool } from './duckdb-pool';
import type { CancelTimer, PoolClock } from './pool-clock';
import type { PooledConnection } from './pooled-connection';
import { settle, sleep } from '@lib/common/testing';

const ctx = { operation: 'spec' };

let dir: string;
let counter = 0;
const opened: { db: DuckDbDatabase; pool: DuckDbPool }[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'duckdb-pool-spec-'));
});

afterEach(async () => {
  for (const { db, pool } of opened.splice(0)) {
    // A failed test may still hold a connection: never let cleanup hang on it.
    await Promise.race([pool.drain(), sleep(1000)]);
    db.instance.closeSync();
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A clock that moves only when told: the pool's acquire timeouts and idle sweeps fire inside
 * `advance`, in time order, and `advance` waits for what they return (a sweep's health checks).
 */
class FakeClock implements PoolClock {
  private time = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; every: number; fn: () => unknown }>();

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): CancelTimer {
    return this.schedule(fn, ms, 0);
  }

  setInterval(fn: () => unknown, ms: number): CancelTimer {
    return this.schedule(fn, ms, ms);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    for (;;) {
      let next: [number, { at: number; every: number; fn: () => unknown }] | undefined;
      for (const entry of this.timers) if (!next || entry[1].at < next[1].at) next = entry;
      if (!next || next[1].at > until) break;
      const [id, timer] = next;
      this.time = timer.at;
      if (timer.every > 0) timer.at += timer.every;
      else this.timers.delete(id);
      await timer.fn();
    }
    this.time = until;
    // Let promise callbacks of what fired (a rejected waiter's handlers) run.
    await new Promise((resolve) => setImmediate(resolve));
  }

  private schedule(fn: () => unknown, ms: number, every: number): CancelTimer {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, every, fn });
    return () => this.timers.delete(id);
  }
}

async function openPool(
  pool: DuckDbPoolOptions,
  clock: PoolClock = new FakeClock(),
): Promise<DuckDbPool> {
  const options = resolveDuckDbOptions({ path: join(dir, `pool-${++counter}.duckdb`), pool });
  const db = await DuckDbDatabase.open(options);
  const created = new DuckDbPool(db.instance, {
    ...options.pool,
    queryTimeoutMs: options.queryTimeoutMs,
    statementCacheSize: options.statementCacheSize,
    clock,
  });
  opened.push({ db, pool: created });
  await created.start();
  return created;
}

/** Tracks how `promise` settled, synchronously readable after the fact. */
function watch<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const seen: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  void settle(promise).then((outcome) => Object.assign(seen, outcome, { settled: true }));
  return seen;
}

/** Resolves to 'pending' when `promise` has not settled after a few turns of the event loop. */
async function state(promise: Promise<unknown>): Promise<'pending' | 'settled'> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(20);
  return settled ? 'settled' : 'pending';
}

async function selectOne(connection: PooledConnection, value: number): Promise<number> {
  const rows = await connection.run(`SELECT ${value} AS v`, [], 'rows', ctx);
  return rows[0].v as number;
}

describe('DuckDbPool', () => {
  describe('start', () => {
    it('opens min connections and reports them idle', async () => {
      const pool = await openPool({ min: 2, max: 4 });
      expect(pool.stats()).toMatchObject({
        enabled: true,
        min: 2,
        max: 4,
        size: 2,
        idle: 2,
        inUse: 0,
        waiting: 0,
        created: 2,
        acquired: 0,
        released: 0,
        timeouts: 0,
      });
    });

    it('rejects min greater than max', async () => {
      const options = resolveDuckDbOptions({ path: join(dir, 'never-opened.duckdb') });
      const db = await DuckDbDatabase.open(options);
      try {
        expect(
          () =>
            new DuckDbPool(db.instance, {
              ...options.pool,
              min: 3,
              max: 2,
              queryTimeoutMs: 0,
              statementCacheSize: 8,
            }),
        ).toThrow(RangeError);
      } finally {
        db.instance.closeSync();
      }
    });
  });

  describe('lending', () => {
    it('lends distinct connections and never opens more than max', async () => {
      const pool = await openPool({ min: 1, max: 3, acquireTimeoutMs: 2000 });
      const connections = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
      expect(new Set(connections.map((c) => c.id)).size).toBe(3);
      const fourth = pool.acquire();
      await sleep(30);
      expect(pool.stats()).toMatchObject({ size: 3, created: 3, inUse: 3, waiting: 1 });
      pool.release(connections[1]);
      await expect(fourth).resolves.toBe(connections[1]);
      for (const c of [connections[0], connections[2], connections[1]]) pool.release(c);
      expect(pool.stats()).toMatchObject({ size: 3, created: 3, idle: 3, inUse: 0 });
    });

    it('withConnection returns the connection even when the callback throws', async () => {
      const pool = await openPool({ min: 1, max: 1 });
      await expect(
        pool.withConnection(async () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(pool.stats()).toMatchObject({ idle: 1, inUse: 0, acquired: 1, released: 1 });
      await expect(pool.withConnection((c) => selectOne(c, 5))).resolves.toBe(5);
    });
  });

  describe('waiters', () => {
    it('serves waiters strictly in arrival order', async () => {
      const pool = await openPool({ min: 1, max: 1, acquireTimeoutMs: 5000 });
      const held = await pool.acquire();
      const order: number[] = [];
      const served = Array.from({ length: 5 }, (_, i) =>
        pool.acquire().then(async (connection) => {
          order.push(i);
          expect(connection).toBe(held);
          await sleep(1);
          pool.release(connection);
        }),
      );
      expect(pool.stats().waiting).toBe(5);
      pool.release(held);
      await Promise.all(served);
      expect(order).toEqual([0, 1, 2, 3, 4]);
      expect(pool.stats()).toMatchObject({ waiting: 0, idle: 1, acquired: 6, released: 6 });
    });

    it('hands several released connections to the oldest waiters first', async () => {
      const pool = await openPool({ min: 3, max: 3, acquireTimeoutMs: 5000 });
      const held = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
      const order: number[] = [];
      const waiters = Array.from({ length: 6 }, (_, i) =>
        pool.acquire().then((connection) => {
          order.push(i);
          return connection;
        }),
      );
      for (const c of held) pool.release(c);
      const firstThree = await Promise.all(waiters.slice(0, 3));
      await sleep(20);
      expect(order).toEqual([0, 1, 2]);
      expect(pool.stats().waiting).toBe(3);
      for (const c of firstThree) pool.release(c);
      const lastThree = await Promise.all(waiters.slice(3));
      expect(order).toEqual([0, 1, 2, 3, 4, 5]);
      for (const c of lastThree) pool.release(c);
    });

    it('rejects a waiter with PoolAcquireTimeoutError after acquireTimeoutMs', async () => {
      const clock = new FakeClock();
      const pool = await openPool({ min: 1, max: 1, acquireTimeoutMs: 50 }, clock);
      const held = await pool.acquire();
      const waiter = watch(pool.acquire());
      await clock.advance(49);
      expect(waiter.settled).toBe(false);
      expect(pool.stats()).toMatchObject({ timeouts: 0, waiting: 1 });

      await clock.advance(1);
      expect(waiter.settled).toBe(true);
      const error = waiter.error as PoolAcquireTimeoutError;
      expect(error).toBeInstanceOf(PoolAcquireTimeoutError);
      expect(error.waitedMs).toBe(50);
      expect(error.transient).toBe(true);
      expect(pool.stats()).toMatchObject({ timeouts: 1, waiting: 0, acquired: 1, inUse: 1 });
      // Readiness counts recent timeouts only.
      expect(pool.timeoutsWithin(1000)).toBe(1);
      await clock.advance(1001);
      expect(pool.timeoutsWithin(1000)).toBe(0);

      // The expired waiter must not receive the connection when it comes back.
      pool.release(held);
      expect(pool.stats()).toMatchObject({ idle: 1, inUse: 0, acquired: 1, released: 1 });
      const again = await pool.acquire();
      expect(again).toBe(held);
      expect(pool.stats().acquired).toBe(2);
      pool.release(again);
    });

    it('gives a released connection to the next live waiter, skipping an expired one', async () => {
      const clock = new FakeClock();
      const pool = await openPool({ min: 1, max: 1, acquireTimeoutMs: 80 }, clock);
      const held = await pool.acquire();
      const first = watch(pool.acquire());
      await clock.advance(40);
      const second = watch(pool.acquire());
      // The first waiter expires at 80 ms; the second is still within its timeout (until 120 ms).
      await clock.advance(40);
      expect(first.error).toBeInstanceOf(PoolAcquireTimeoutError);
      expect(second.settled).toBe(false);
      pool.release(held);
      await clock.advance(0);
      expect(second.value).toBe(held);
      expect(pool.stats()).toMatchObject({ timeouts: 1, acquired: 2, waiting: 0, inUse: 1 });
      // The served waiter's timeout was cancelled: it never counts as a timeout later.
      await clock.advance(1000);
      expect(pool.stats()).toMatchObject({ timeouts: 1, inUse: 1 });
      pool.release(held);
    });
  });

  describe('idle eviction', () => {
    // Sweeps run every 250 ms here (half the shorter idle limit, at least 250 ms).
    const limits = { idleTimeoutMs: 100, healthCheckAfterIdleMs: 60_000 };

    it('closes connections idle past idleTimeoutMs, never going below min', async () => {
      const clock = new FakeClock();
      const pool = await openPool({ min: 1, max: 4, ...limits }, clock);
      const connections = await Promise.all(Array.from({ length: 4 }, () => pool.acquire()));
      expect(new Set(connections.map((c) => c.id)).size).toBe(4);
      const [a, b, c, d] = connections;
      pool.release(a);
      pool.release(b);
      await clock.advance(200);
      pool.release(c);
      pool.release(d);
      expect(pool.stats()).toMatchObject({ size: 4, idle: 4, inUse: 0 });

      // The sweep at 250 ms closes the two idle for 250 ms, not the two idle for 50 ms.
      await clock.advance(49);
      expect(pool.stats()).toMatchObject({ size: 4, idle: 4 });
      await clock.advance(1);
      expect(pool.stats()).toMatchObject({ size: 2, idle: 2, inUse: 0, created: 4 });
      // The sweep at 500 ms closes one more, and keeps min open from then on.
      await clock.advance(250);
      expect(pool.stats()).toMatchObject({ size: 1, idle: 1 });
      await clock.advance(10_000);
      expect(pool.stats()).toMatchObject({ size: 1, idle: 1, created: 4 });

      const survivor = await pool.acquire();
      expect([c, d]).toContain(survivor);
      expect(await selectOne(survivor, 3)).toBe(3);
      // The evicted connections were really closed.
      for (const evicted of connections.filter((x) => x !== survivor)) {
        await expect(evicted.raw.run('SELECT 1')).rejects.toThrow(/disconnected/);
      }
      pool.release(survivor);
    });

    it('does not evict connections that are in use', async () => {
      const clock = new FakeClock();
      const pool = await openPool({ min: 1, max: 3, ...limits }, clock);
      const [a, b, c] = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
      pool.release(c);
      await clock.advance(250);
      expect(pool.stats()).toMatchObject({ size: 2, idle: 0, inUse: 2 });
      await clock.advance(10_000);
      expect(pool.stats()).toMatchObject({ size: 2, idle: 0, inUse: 2 });
      expect(await selectOne(a, 1)).toBe(1);
      expect(await selectOne(b, 2)).toBe(2);
      pool.release(a);
      pool.release(b);
      await clock.advance(250);
      expect(pool.stats()).toMatchObject({ size: 1, idle: 1, inUse: 0 });
    });
  });

  describe('health checks', () => {
    it('validates long-idle connections and replaces one that fails', async () => {
      const clock = new FakeClock();
      const pool = await openPool(
        { min: 1, max: 2, idleTimeoutMs: 60_000, healthCheckAfterIdleMs: 500 },
        clock,
      );
      // Sweeps every 250 ms: the idle connection is first checked at 500 ms.
      await clock.advance(250);
      expect(pool.stats().healthChecks).toBe(0);
      await clock.advance(250);
      expect(pool.stats()).toMatchObject({ healthChecks: 1, healthCheckFailures: 0, size: 1 });

      const victim = await pool.acquire();
      victim.raw.closeSync();
      pool.release(victim);
      await clock.advance(500);
      expect(pool.stats()).toMatchObject({ healthChecks: 2, healthCheckFailures: 1 });

      // Its replacement is opened at once (min 1), without waiting for a sweep.
      const replacement = await pool.acquire();
      expect(replacement.id).not.toBe(victim.id);
      expect(await selectOne(replacement, 9)).toBe(9);
      pool.release(replacement);
      expect(pool.stats()).toMatchObject({ size: 1, idle: 1 });
    });
  });

  describe('broken connections', () => {
    it('marks a connection broken when its driver connection is closed, then replaces it', async () => {
      const pool = await openPool({ min: 1, max: 2 });
      const connection = await pool.acquire();
      connection.raw.closeSync();

      const error = await connection.run('SELECT 41 AS v', [], 'rows', ctx).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect(((error as Error).cause as Error).message).toMatch(/connection disconnected/);
      expect(connection.broken).toBe(true);

      pool.release(connection);
      const replacement = await pool.acquire();
      expect(replacement.id).not.toBe(connection.id);
      expect(replacement.broken).toBe(false);
      expect(await selectOne(replacement, 41)).toBe(41);
      pool.release(replacement);
      expect(pool.stats()).toMatchObject({ size: 1, idle: 1, inUse: 0, created: 2 });
    });

    // A statement already in the connection's statement cache fails on a closed connection with
    // the driver's bare "Failed to clear bindings" / "Failed to bind value" / "Failed to execute
    // prepared statement", which says nothing about the connection.
    it('marks a closed connection broken even when the statement was cached', async () => {
      const pool = await openPool({ min: 1, max: 1 });
      const connection = await pool.acquire();
      expect(await selectOne(connection, 42)).toBe(42);
      connection.raw.closeSync();

      const error = await connection.run('SELECT 42 AS v', [], 'rows', ctx).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).not.toBeInstanceOf(QueryFailedError);
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect(connection.broken).toBe(true);

      pool.release(connection);
      const next = await pool.acquire();
      expect(await selectOne(next, 42)).toBe(42);
      pool.release(next);
    });
  });

  describe('statistics', () => {
    it('counts exactly after a known sequence', async () => {
      const clock = new FakeClock();
      const pool = await openPool({ min: 1, max: 2, acquireTimeoutMs: 50 }, clock);
      expect(pool.stats()).toMatchObject({
        size: 1,
        idle: 1,
        inUse: 0,
        waiting: 0,
        created: 1,
        acquired: 0,
        released: 0,
        timeouts: 0,
      });

      const a = await pool.acquire();
      expect(pool.stats()).toMatchObject({ size: 1, idle: 0, inUse: 1, created: 1, acquired: 1 });

      const b = await pool.acquire();
      expect(pool.stats()).toMatchObject({ size: 2, idle: 0, inUse: 2, created: 2, acquired: 2 });

      const c = watch(pool.acquire());
      expect(pool.stats()).toMatchObject({ waiting: 1, size: 2, inUse: 2 });
      await clock.advance(50);
      expect(c.error).toBeInstanceOf(PoolAcquireTimeoutError);
      expect(pool.stats()).toMatchObject({ waiting: 0, timeouts: 1, acquired: 2 });

      pool.release(a);
      expect(pool.stats()).toMatchObject({ idle: 1, inUse: 1, released: 1 });
      pool.release(b);
      const stats = pool.stats();
      expect(stats).toMatchObject({
        enabled: true,
        min: 1,
        max: 2,
        size: 2,
        idle: 2,
        inUse: 0,
        waiting: 0,
        created: 2,
        acquired: 2,
        released: 2,
        timeouts: 1,
        healthChecks: 0,
        healthCheckFailures: 0,
      });
      // Both were lent at once; the timed-out caller is not an acquire.
      expect(stats).toMatchObject({ avgAcquireMs: 0, maxAcquireMs: 0 });
    });

    it('measures how long waiters waited', async () => {
      const clock = new FakeClock();
      const pool = await openPool({ min: 1, max: 1, acquireTimeoutMs: 2000 }, clock);
      const held = await pool.acquire();
      const waiting = pool.acquire();
      await clock.advance(60);
      pool.release(held);
      pool.release(await waiting);
      // One lend at once, one after 60 ms.
      expect(pool.stats()).toMatchObject({ acquired: 2, maxAcquireMs: 60, avgAcquireMs: 30 });
    });
  });

  describe('drain', () => {
    it('waits for borrowed connections, then closes everything', async () => {
      const pool = await openPool({ min: 2, max: 2 });
      const borrowed = await pool.acquire();
      const drained = pool.drain();
      expect(await state(drained)).toBe('pending');
      await expect(pool.acquire()).rejects.toBeInstanceOf(PoolDrainingError);
      // The borrower can still finish its work.
      expect(await selectOne(borrowed, 7)).toBe(7);

      pool.release(borrowed);
      await expect(drained).resolves.toBeUndefined();
      expect(pool.stats()).toMatchObject({ size: 0, idle: 0, inUse: 0 });
      await expect(borrowed.raw.run('SELECT 1')).rejects.toThrow(/disconnected/);
      await expect(pool.withConnection((c) => selectOne(c, 1))).rejects.toBeInstanceOf(
        PoolDrainingError,
      );
      expect(pool.drain()).toBe(drained);
    });

    it('still serves callers that were already waiting', async () => {
      const pool = await openPool({ min: 1, max: 1, acquireTimeoutMs: 2000 });
      const held = await pool.acquire();
      const waiter = pool.acquire();
      const drained = pool.drain();
      pool.release(held);
      const served = await waiter;
      expect(served).toBe(held);
      expect(await state(drained)).toBe('pending');
      pool.release(served);
      await expect(drained).resolves.toBeUndefined();
      expect(pool.stats().size).toBe(0);
    });

    it('resolves at once when nothing is borrowed', async () => {
      const pool = await openPool({ min: 2, max: 3 });
      await pool.drain();
      expect(pool.stats()).toMatchObject({ size: 0, idle: 0 });
    });
  });

  describe('enabled: false', () => {
    it('is one shared connection with a FIFO queue', async () => {
      const pool = await openPool({ enabled: false, min: 2, max: 4, acquireTimeoutMs: 5000 });
      expect(pool.stats()).toMatchObject({ enabled: false, min: 1, max: 1, size: 1 });

      let inside = 0;
      let maxInside = 0;
      const ids = new Set<number>();
      const order: number[] = [];
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          pool.withConnection(async (connection) => {
            inside++;
            maxInside = Math.max(maxInside, inside);
            ids.add(connection.id);
            order.push(i);
            const value = await selectOne(connection, i);
            inside--;
            return value;
          }),
        ),
      );
      expect(maxInside).toBe(1);
      expect(ids.size).toBe(1);
      expect(order).toEqual([0, 1, 2, 3, 4, 5]);
      expect(pool.stats()).toMatchObject({ size: 1, created: 1, acquired: 6, released: 6 });
    });

    it('times out a caller queued behind the shared connection', async () => {
      const clock = new FakeClock();
      const pool = await openPool({ enabled: false, acquireTimeoutMs: 50 }, clock);
      const held = await pool.acquire();
      const queued = watch(pool.acquire());
      await clock.advance(50);
      expect(queued.error).toBeInstanceOf(PoolAcquireTimeoutError);
      expect(pool.stats()).toMatchObject({ enabled: false, size: 1, timeouts: 1 });
      pool.release(held);
    });
  });
});
