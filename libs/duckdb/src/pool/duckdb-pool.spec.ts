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
import type { PooledConnection } from './pooled-connection';
import { sleep } from '@lib/common/testing';

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

async function openPool(pool: DuckDbPoolOptions): Promise<DuckDbPool> {
  const options = resolveDuckDbOptions({ path: join(dir, `pool-${++counter}.duckdb`), pool });
  const db = await DuckDbDatabase.open(options);
  const created = new DuckDbPool(db.instance, {
    ...options.pool,
    queryTimeoutMs: options.queryTimeoutMs,
    statementCacheSize: options.statementCacheSize,
  });
  opened.push({ db, pool: created });
  await created.start();
  return created;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
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
      const pool = await openPool({ min: 1, max: 1, acquireTimeoutMs: 50 });
      const held = await pool.acquire();
      const started = performance.now();
      const error = await pool.acquire().then(
        () => undefined,
        (e: unknown) => e,
      );
      const waited = performance.now() - started;
      expect(error).toBeInstanceOf(PoolAcquireTimeoutError);
      expect((error as PoolAcquireTimeoutError).waitedMs).toBe(50);
      expect((error as PoolAcquireTimeoutError).transient).toBe(true);
      expect(waited).toBeGreaterThanOrEqual(45);
      expect(waited).toBeLessThan(1000);
      expect(pool.stats()).toMatchObject({ timeouts: 1, waiting: 0, acquired: 1, inUse: 1 });

      // The expired waiter must not receive the connection when it comes back.
      pool.release(held);
      expect(pool.stats()).toMatchObject({ idle: 1, inUse: 0, acquired: 1, released: 1 });
      const again = await pool.acquire();
      expect(again).toBe(held);
      expect(pool.stats().acquired).toBe(2);
      pool.release(again);
    });

    it('gives a released connection to the next live waiter, skipping an expired one', async () => {
      const pool = await openPool({ min: 1, max: 1, acquireTimeoutMs: 80 });
      const held = await pool.acquire();
      const first = pool.acquire();
      await sleep(40);
      const second = pool.acquire();
      // Release the moment the first waiter expires; the second is still within its timeout.
      const firstResult = first.then(
        () => 'served',
        (error: unknown) => {
          pool.release(held);
          return error;
        },
      );
      await expect(firstResult).resolves.toBeInstanceOf(PoolAcquireTimeoutError);
      await expect(second).resolves.toBe(held);
      expect(pool.stats()).toMatchObject({ timeouts: 1, acquired: 2, waiting: 0, inUse: 1 });
      pool.release(held);
    });
  });

  describe('idle eviction', () => {
    it('closes idle connections above min after idleTimeoutMs', async () => {
      const pool = await openPool({
        min: 1,
        max: 3,
        idleTimeoutMs: 100,
        healthCheckAfterIdleMs: 60_000,
      });
      const connections = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
      expect(new Set(connections.map((c) => c.id)).size).toBe(3);
      for (const c of connections) pool.release(c);
      expect(pool.stats()).toMatchObject({ size: 3, idle: 3, inUse: 0 });

      await waitFor(() => pool.stats().size === 1, 3000);
      expect(pool.stats()).toMatchObject({ size: 1, idle: 1, inUse: 0, created: 3 });
      // It never goes below min.
      await sleep(600);
      expect(pool.stats()).toMatchObject({ size: 1, idle: 1 });

      const survivor = await pool.acquire();
      expect(await selectOne(survivor, 3)).toBe(3);
      // The evicted connections were really closed.
      for (const evicted of connections.filter((c) => c !== survivor)) {
        await expect(evicted.raw.run('SELECT 1')).rejects.toThrow(/disconnected/);
      }
      pool.release(survivor);
    });

    it('does not evict connections that are in use', async () => {
      const pool = await openPool({
        min: 1,
        max: 3,
        idleTimeoutMs: 100,
        healthCheckAfterIdleMs: 60_000,
      });
      const [a, b, c] = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
      pool.release(c);
      await waitFor(() => pool.stats().size === 2, 3000);
      await sleep(400);
      expect(pool.stats()).toMatchObject({ size: 2, idle: 0, inUse: 2 });
      expect(await selectOne(a, 1)).toBe(1);
      expect(await selectOne(b, 2)).toBe(2);
      pool.release(a);
      pool.release(b);
      await waitFor(() => pool.stats().size === 1, 3000);
    });
  });

  describe('health checks', () => {
    it('validates long-idle connections and replaces one that fails', async () => {
      const pool = await openPool({
        min: 1,
        max: 2,
        idleTimeoutMs: 60_000,
        healthCheckAfterIdleMs: 50,
      });
      await waitFor(() => pool.stats().healthChecks >= 1, 3000);
      expect(pool.stats()).toMatchObject({ healthCheckFailures: 0, size: 1 });

      const victim = await pool.acquire();
      victim.raw.closeSync();
      pool.release(victim);
      await waitFor(() => pool.stats().healthCheckFailures === 1, 3000);
      await waitFor(() => pool.stats().size === 1 && pool.stats().idle === 1, 3000);

      const replacement = await pool.acquire();
      expect(replacement.id).not.toBe(victim.id);
      expect(await selectOne(replacement, 9)).toBe(9);
      pool.release(replacement);
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
      const pool = await openPool({ min: 1, max: 2, acquireTimeoutMs: 50 });
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

      const c = pool.acquire();
      expect(pool.stats()).toMatchObject({ waiting: 1, size: 2, inUse: 2 });
      await expect(c).rejects.toBeInstanceOf(PoolAcquireTimeoutError);
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
      expect(stats.avgAcquireMs).toBeGreaterThanOrEqual(0);
      expect(stats.maxAcquireMs).toBeGreaterThanOrEqual(stats.avgAcquireMs);
    });

    it('measures how long waiters waited', async () => {
      const pool = await openPool({ min: 1, max: 1, acquireTimeoutMs: 2000 });
      const held = await pool.acquire();
      const waiting = pool.acquire();
      await sleep(60);
      pool.release(held);
      pool.release(await waiting);
      const stats = pool.stats();
      expect(stats.maxAcquireMs).toBeGreaterThanOrEqual(50);
      expect(stats.maxAcquireMs).toBeLessThan(1000);
      expect(stats.avgAcquireMs).toBeCloseTo(stats.maxAcquireMs / 2, -1);
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
      const pool = await openPool({ enabled: false, acquireTimeoutMs: 50 });
      const held = await pool.acquire();
      await expect(pool.acquire()).rejects.toBeInstanceOf(PoolAcquireTimeoutError);
      expect(pool.stats()).toMatchObject({ enabled: false, size: 1, timeouts: 1 });
      pool.release(held);
    });
  });
});
