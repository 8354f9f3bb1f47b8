import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test, type TestingModule } from '@nestjs/testing';
import { createClient, type RedisClientType } from '@keyv/redis';
import { DuckDbClient, DuckDbModule, transactionStorage } from '@lib/duckdb';
import {
  QueryCache,
  QueryCacheModule,
  type QueryCacheModuleOptions,
  type QueryCacheStats,
} from '@lib/query-cache';
import { TransactionHost, TransactionsModule } from '@lib/transactions';
import { type RedisServer, freePort, startRedis } from './testing';
import { SilentLogger, deferred, sleep } from '@lib/common/testing';

jest.setTimeout(20_000);

/** `promise`, or a rejection naming `what` after `ms` (so a hang fails fast). */
function within<T>(what: string, promise: Promise<T>, ms = 2_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `fn` outside any transaction: what other requests see. */
function outside<T>(fn: () => Promise<T>): Promise<T> {
  return transactionStorage.exit(fn);
}

/** Polls `check` every 25 ms until it is true, or fails after `timeoutMs`. */
async function waitFor(what: string, check: () => boolean, timeoutMs = 5_000): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${what}`);
    await sleep(25);
  }
  return Date.now() - start;
}

/** A loader returning `value` (a fresh copy each call) and counting its calls. */
function counting<T>(value: T): { loader: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    loader: async () => {
      calls++;
      return structuredClone(value);
    },
    calls: () => calls,
  };
}

/** The change of the numeric counters between two `stats()`. */
function delta(before: QueryCacheStats, after: QueryCacheStats) {
  return {
    hits: after.hits - before.hits,
    misses: after.misses - before.misses,
    errors: after.errors - before.errors,
    bypassed: after.bypassed - before.bypassed,
    staleDiscarded: after.staleDiscarded - before.staleDiscarded,
  };
}

let sequence = 0;
/** A name no other test uses (keys, tags, namespaces). */
function unique(prefix: string): string {
  sequence += 1;
  return `${prefix}-${sequence}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A testing module with a QueryCache and, when `dbPath` is given, DuckDB and transactions. */
interface Harness {
  moduleRef: TestingModule;
  cache: QueryCache;
  db?: DuckDbClient;
  host?: TransactionHost;
  close(): Promise<void>;
}

async function buildHarness(options: QueryCacheModuleOptions, dbPath?: string): Promise<Harness> {
  const imports = dbPath
    ? [
        DuckDbModule.forRoot({ path: dbPath, isGlobal: true, pool: { max: 4 } }),
        TransactionsModule,
        QueryCacheModule.forRoot(options),
      ]
    : [QueryCacheModule.forRoot(options)];
  const moduleRef = await Test.createTestingModule({ imports })
    .setLogger(new SilentLogger())
    .compile();
  await moduleRef.init();
  let closed = false;
  return {
    moduleRef,
    cache: moduleRef.get(QueryCache),
    db: dbPath ? moduleRef.get(DuckDbClient) : undefined,
    host: dbPath ? moduleRef.get(TransactionHost) : undefined,
    close: async () => {
      if (closed) return;
      closed = true;
      await moduleRef.close();
    },
  };
}

/** A client of its own, to look into Redis as an operator would. */
async function inspector(url: string): Promise<RedisClientType> {
  const client = createClient({ url }) as RedisClientType;
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

type StoreKind = 'memory' | 'redis';

describe.each<StoreKind>(['memory', 'redis'])('QueryCache (%s store)', (kind) => {
  let dir: string;
  let redis: RedisServer | undefined;
  let harness: Harness;
  let cache: QueryCache;
  let db: DuckDbClient;
  let host: TransactionHost;
  const namespace = unique('spec');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'query-cache-spec-'));
    if (kind === 'redis') redis = await startRedis();
    harness = await buildHarness(
      { store: kind, redisUrl: redis?.url, namespace, opTimeoutMs: 1_000 },
      join(dir, 'test.duckdb'),
    );
    cache = harness.cache;
    db = harness.db as DuckDbClient;
    host = harness.host as TransactionHost;
    await db.execute('CREATE TABLE items (id INTEGER PRIMARY KEY, v VARCHAR)');
    if (kind === 'redis') {
      await waitFor('the Redis client to be ready', () => cache.stats().connected);
    }
  });

  afterAll(async () => {
    await harness?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports its store', () => {
    expect(cache.stats()).toEqual(
      expect.objectContaining({ store: kind, connected: true, breaker: 'closed' }),
    );
  });

  it('serves a hit after a miss: the loader runs once', async () => {
    const key = unique('k');
    const { loader, calls } = counting({ n: 1 });
    const before = cache.stats();
    await expect(cache.getOrLoad(key, loader, { tags: ['a'] })).resolves.toEqual({ n: 1 });
    await expect(cache.getOrLoad(key, loader, { tags: ['a'] })).resolves.toEqual({ n: 1 });
    await expect(cache.getOrLoad(key, loader, { tags: ['a'] })).resolves.toEqual({ n: 1 });
    expect(calls()).toBe(1);
    expect(delta(before, cache.stats())).toEqual(
      expect.objectContaining({ hits: 2, misses: 1, errors: 0, bypassed: 0 }),
    );
    expect(cache.stats().hitRatio).toBeGreaterThan(0);
  });

  it('does not store undefined results', async () => {
    const key = unique('k');
    const { loader, calls } = counting(undefined);
    await expect(cache.getOrLoad(key, loader, { tags: [] })).resolves.toBeUndefined();
    await expect(cache.getOrLoad(key, loader, { tags: [] })).resolves.toBeUndefined();
    expect(calls()).toBe(2);
  });

  it('stores JSON-safe values and hands every caller a fresh copy', async () => {
    const key = unique('k');
    const value = { name: 'x', nested: { list: [1, 2, { deep: true }] }, nil: null };
    const { loader, calls } = counting(value);
    const first = await cache.getOrLoad(key, loader, { tags: ['copies'] });
    expect(first).toEqual(value);
    first.nested.list.push(99);
    first.name = 'mutated';
    const second = await cache.getOrLoad(key, loader, { tags: ['copies'] });
    expect(second).toEqual(value);
    second.nested.list.length = 0;
    (second as Record<string, unknown>).extra = 1;
    const third = await cache.getOrLoad(key, loader, { tags: ['copies'] });
    expect(third).toEqual(value);
    expect(third).not.toBe(second);
    expect(calls()).toBe(1);
  });

  it('a hit has the JSON form of the value (dates as ISO strings, undefined fields dropped)', async () => {
    const key = unique('k');
    const at = new Date('2024-05-06T07:08:09.123Z');
    const loader = async () => ({ at, gone: undefined, n: 1.5 });
    await cache.getOrLoad(key, loader, { tags: [] });
    const hit = await cache.getOrLoad<unknown>(key, loader, { tags: [] });
    expect(hit).toEqual({ at: '2024-05-06T07:08:09.123Z', n: 1.5 });
    expect(Object.keys(hit as object)).not.toContain('gone');
  });

  it('single flight: 1,000 concurrent calls on a cold key run the loader once', async () => {
    const key = unique('k');
    const gate = deferred();
    let calls = 0;
    const loader = async () => {
      calls++;
      await gate.promise;
      return { answer: 42 };
    };
    const before = cache.stats();
    const all = Array.from({ length: 1_000 }, () =>
      cache.getOrLoad(key, loader, { tags: ['flight'] }),
    );
    await sleep(20);
    gate.resolve();
    const values = await Promise.all(all);
    expect(calls).toBe(1);
    expect(values).toHaveLength(1_000);
    for (const value of values) expect(value).toEqual({ answer: 42 });
    expect(delta(before, cache.stats()).misses).toBe(1);
    // And it was stored: the next call is a hit.
    await expect(cache.getOrLoad(key, loader, { tags: ['flight'] })).resolves.toEqual({
      answer: 42,
    });
    expect(calls).toBe(1);
  });

  it('a failing loader rejects every joined caller and caches nothing', async () => {
    const key = unique('k');
    let calls = 0;
    const failing = async (): Promise<string> => {
      calls++;
      await sleep(10);
      throw new Error('boom');
    };
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => cache.getOrLoad(key, failing, { tags: [] })),
    );
    expect(calls).toBe(1);
    for (const result of results) expect(result.status).toBe('rejected');
    await expect(cache.getOrLoad(key, async () => 'ok', { tags: [] })).resolves.toBe('ok');
  });

  it('invalidate(tag) removes exactly the entries carrying that tag', async () => {
    const [x, y, z] = [unique('x'), unique('y'), unique('z')];
    const a = counting('a');
    const b = counting('b');
    const c = counting('c');
    const d = counting('d');
    const keys = [unique('a'), unique('b'), unique('c'), unique('d')];
    // One after the other: concurrent first loads sharing a cold tag are another test's subject.
    const load = async () => [
      await cache.getOrLoad(keys[0], a.loader, { tags: [x] }),
      await cache.getOrLoad(keys[1], b.loader, { tags: [y] }),
      await cache.getOrLoad(keys[2], c.loader, { tags: [z, x] }),
      await cache.getOrLoad(keys[3], d.loader, { tags: [] }),
    ];
    await expect(load()).resolves.toEqual(['a', 'b', 'c', 'd']);
    await load();
    expect([a.calls(), b.calls(), c.calls(), d.calls()]).toEqual([1, 1, 1, 1]);

    await cache.invalidate([x]);
    await expect(load()).resolves.toEqual(['a', 'b', 'c', 'd']);
    expect([a.calls(), b.calls(), c.calls(), d.calls()]).toEqual([2, 1, 2, 1]);

    await cache.invalidate([y, z]);
    await load();
    expect([a.calls(), b.calls(), c.calls(), d.calls()]).toEqual([2, 2, 3, 1]);

    // An unknown tag and an empty list touch nothing.
    await cache.invalidate([unique('nobody')]);
    await cache.invalidate([]);
    await load();
    expect([a.calls(), b.calls(), c.calls(), d.calls()]).toEqual([2, 2, 3, 1]);
  });

  it('concurrent first loads of entries sharing a cold tag are all stored', async () => {
    const tag = unique('cold');
    const entries = Array.from({ length: 3 }, (_, i) => ({ key: unique('sib'), ...counting(i) }));
    const loadAll = () =>
      Promise.all(entries.map((e) => cache.getOrLoad(e.key, e.loader, { tags: [tag] })));
    await expect(loadAll()).resolves.toEqual([0, 1, 2]);
    await expect(loadAll()).resolves.toEqual([0, 1, 2]);
    // Each loader ran once: no entry's store undid another's.
    expect(entries.map((e) => e.calls())).toEqual([1, 1, 1]);
  });

  it('invalidateAll() makes every entry miss', async () => {
    const entries = Array.from({ length: 5 }, (_, i) => ({
      key: unique('all'),
      tags: i % 2 === 0 ? [unique('t')] : [],
      ...counting(i),
    }));
    const loadAll = () =>
      Promise.all(entries.map((e) => cache.getOrLoad(e.key, e.loader, { tags: e.tags })));
    await loadAll();
    await loadAll();
    expect(entries.map((e) => e.calls())).toEqual([1, 1, 1, 1, 1]);
    await cache.invalidateAll();
    await expect(loadAll()).resolves.toEqual([0, 1, 2, 3, 4]);
    expect(entries.map((e) => e.calls())).toEqual([2, 2, 2, 2, 2]);
    await loadAll();
    expect(entries.map((e) => e.calls())).toEqual([2, 2, 2, 2, 2]);
  });

  it('expires entries after their ttlMs', async () => {
    const key = unique('ttl');
    const { loader, calls } = counting('short-lived');
    await cache.getOrLoad(key, loader, { tags: [], ttlMs: 80 });
    await cache.getOrLoad(key, loader, { tags: [], ttlMs: 80 });
    expect(calls()).toBe(1);
    await sleep(160);
    await expect(cache.getOrLoad(key, loader, { tags: [], ttlMs: 80 })).resolves.toBe(
      'short-lived',
    );
    expect(calls()).toBe(2);
  });

  describe('with transactions', () => {
    it('getOrLoad inside a transaction skips the cache: the loader runs every time', async () => {
      const key = unique('tx');
      const { loader, calls } = counting('in-tx');
      const before = cache.stats();
      await host.run(async () => {
        expect(host.isActive()).toBe(true);
        await cache.getOrLoad(key, loader, { tags: ['tx'] });
        await cache.getOrLoad(key, loader, { tags: ['tx'] });
        await cache.getOrLoad(key, loader, { tags: ['tx'] });
      });
      expect(calls()).toBe(3);
      expect(delta(before, cache.stats())).toEqual(expect.objectContaining({ hits: 0, misses: 0 }));
      // Nothing was stored by the transaction: the first read outside misses.
      await cache.getOrLoad(key, loader, { tags: ['tx'] });
      expect(calls()).toBe(4);
    });

    it('a read inside a transaction sees its own uncommitted write, never a cached value', async () => {
      const id = 100;
      await db.execute('INSERT INTO items VALUES ($1, $2)', [id, 'committed']);
      const key = unique('own-write');
      const read = async () =>
        (await db.queryOne<{ v: string }>('SELECT v FROM items WHERE id = $1', [id]))?.v;
      await expect(cache.getOrLoad(key, read, { tags: ['own'] })).resolves.toBe('committed');
      const seen: (string | undefined)[] = [];
      await expect(
        host.run(async () => {
          await db.execute('UPDATE items SET v = $1 WHERE id = $2', ['mine', id]);
          seen.push(await cache.getOrLoad(key, read, { tags: ['own'] }));
          // Others still get the committed (cached) value.
          seen.push(await outside(() => cache.getOrLoad(key, read, { tags: ['own'] })));
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(seen).toEqual(['mine', 'committed']);
    });

    it('invalidate inside a transaction takes effect only after COMMIT', async () => {
      const key = unique('deferred');
      const tag = unique('t');
      const { loader, calls } = counting('v');
      await cache.getOrLoad(key, loader, { tags: [tag] });
      let hitsBeforeCommit = -1;
      await host.run(async () => {
        await cache.invalidate([tag]);
        // Before commit: another reader (outside the transaction) still gets the cached value.
        await outside(() => cache.getOrLoad(key, loader, { tags: [tag] }));
        await outside(() => cache.getOrLoad(key, loader, { tags: [tag] }));
        hitsBeforeCommit = calls();
      });
      expect(hitsBeforeCommit).toBe(1);
      // After commit the next read misses.
      await cache.getOrLoad(key, loader, { tags: [tag] });
      expect(calls()).toBe(2);
    });

    it('invalidate inside a transaction that rolls back never happens', async () => {
      const key = unique('rolled-back');
      const tag = unique('t');
      const { loader, calls } = counting('v');
      await cache.getOrLoad(key, loader, { tags: [tag] });
      await expect(
        host.run(async () => {
          await cache.invalidate([tag]);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      await cache.getOrLoad(key, loader, { tags: [tag] });
      await cache.getOrLoad(key, loader, { tags: [tag] });
      expect(calls()).toBe(1);
    });

    it('invalidateAll inside a transaction waits for COMMIT, and is dropped on rollback', async () => {
      const key = unique('all-tx');
      const { loader, calls } = counting('v');
      await cache.getOrLoad(key, loader, { tags: [] });
      await expect(
        host.run(async () => {
          await cache.invalidateAll();
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      await cache.getOrLoad(key, loader, { tags: [] });
      expect(calls()).toBe(1);
      await host.run(async () => {
        await cache.invalidateAll();
        await outside(() => cache.getOrLoad(key, loader, { tags: [] }));
        expect(calls()).toBe(1);
      });
      await cache.getOrLoad(key, loader, { tags: [] });
      expect(calls()).toBe(2);
    });
  });

  describe('the stale-loader race', () => {
    /** A row, a key and a tag of its own, and a loader that reads the row (optionally pausing). */
    async function scenario(id: number) {
      await db.execute('INSERT INTO items VALUES ($1, $2)', [id, 'old']);
      const key = unique('race');
      const tag = unique('row');
      const hasRead = deferred();
      const gate = deferred();
      let loads = 0;
      const readRow = async () =>
        (await db.queryOne<{ v: string }>('SELECT v FROM items WHERE id = $1', [id]))?.v;
      /** Reads the database, then waits for `gate` (only the first call pauses). */
      const pausingLoader = async () => {
        loads++;
        const value = await readRow();
        hasRead.resolve();
        await gate.promise;
        return value;
      };
      const countingLoader = async () => {
        loads++;
        return readRow();
      };
      const write = () =>
        host.run(async () => {
          await db.execute('UPDATE items SET v = $1 WHERE id = $2', ['new', id]);
          await cache.invalidate([tag]);
        });
      return { key, tag, hasRead, gate, pausingLoader, countingLoader, write, loads: () => loads };
    }

    it('a load that read before a committed write returns its value but does not store it', async () => {
      const s = await scenario(201);
      const before = cache.stats();
      const slow = cache.getOrLoad(s.key, s.pausingLoader, { tags: [s.tag] });
      await s.hasRead.promise;
      await s.write();
      s.gate.resolve();
      await expect(slow).resolves.toBe('old');
      expect(delta(before, cache.stats()).staleDiscarded).toBe(1);
      // The next read loads the new value (the old one was not stored) ...
      await expect(cache.getOrLoad(s.key, s.countingLoader, { tags: [s.tag] })).resolves.toBe(
        'new',
      );
      expect(s.loads()).toBe(2);
      // ... and stores it.
      await expect(cache.getOrLoad(s.key, s.countingLoader, { tags: [s.tag] })).resolves.toBe(
        'new',
      );
      expect(s.loads()).toBe(2);
    });

    it('a caller arriving after the invalidation does not join the old in-flight load', async () => {
      const s = await scenario(202);
      const slow = cache.getOrLoad(s.key, s.pausingLoader, { tags: [s.tag] });
      await s.hasRead.promise;
      await s.write();
      // The old load is still paused; a new caller starts its own load and sees the write.
      await expect(
        within(
          'a caller arriving after the invalidation',
          cache.getOrLoad(s.key, s.countingLoader, { tags: [s.tag] }),
        ),
      ).resolves.toBe('new');
      expect(s.loads()).toBe(2);
      s.gate.resolve();
      await expect(slow).resolves.toBe('old');
      for (let i = 0; i < 3; i++) {
        await expect(cache.getOrLoad(s.key, s.countingLoader, { tags: [s.tag] })).resolves.toBe(
          'new',
        );
      }
      expect(s.loads()).toBe(2);
    });

    it('callers that joined before the invalidation share the old load (they asked earlier)', async () => {
      const s = await scenario(203);
      const first = cache.getOrLoad(s.key, s.pausingLoader, { tags: [s.tag] });
      const joined = cache.getOrLoad(s.key, s.countingLoader, { tags: [s.tag] });
      await s.hasRead.promise;
      await s.write();
      s.gate.resolve();
      await expect(Promise.all([first, joined])).resolves.toEqual(['old', 'old']);
      expect(s.loads()).toBe(1);
      await expect(cache.getOrLoad(s.key, s.countingLoader, { tags: [s.tag] })).resolves.toBe(
        'new',
      );
    });

    it('a write committed while a load is in flight on an already warm tag is not lost either', async () => {
      const s = await scenario(204);
      // Warm the tag's token (and the epoch) with another entry first.
      await cache.getOrLoad(unique('warm'), async () => 1, { tags: [s.tag] });
      const slow = cache.getOrLoad(s.key, s.pausingLoader, { tags: [s.tag] });
      await s.hasRead.promise;
      await s.write();
      s.gate.resolve();
      await expect(slow).resolves.toBe('old');
      await expect(cache.getOrLoad(s.key, s.countingLoader, { tags: [s.tag] })).resolves.toBe(
        'new',
      );
    });

    it('a load racing invalidateAll() (e.g. POST /reset) on a cold cache is not stored', async () => {
      // A cache of its own, so the store has no epoch yet and the tag was never invalidated
      // in this process: the state of a freshly started instance.
      const fresh = await buildHarness({
        store: kind,
        redisUrl: redis?.url,
        namespace: unique('cold'),
        opTimeoutMs: 1_000,
      });
      try {
        if (kind === 'redis') await waitFor('ready', () => fresh.cache.stats().connected);
        let value = 'old';
        const hasRead = deferred();
        const gate = deferred();
        let loads = 0;
        const key = unique('reset-race');
        const tags = [unique('lists')];
        const slow = fresh.cache.getOrLoad(
          key,
          async () => {
            loads++;
            const read = value;
            hasRead.resolve();
            await gate.promise;
            return read;
          },
          { tags },
        );
        await hasRead.promise;
        value = 'new'; // the committed write ...
        await fresh.cache.invalidateAll(); // ... and its after-commit invalidation
        gate.resolve();
        await expect(slow).resolves.toBe('old');
        const next = await fresh.cache.getOrLoad(
          key,
          async () => {
            loads++;
            return value;
          },
          { tags },
        );
        expect({ next, loads }).toEqual({ next: 'new', loads: 2 });
      } finally {
        await fresh.close();
      }
    });
  });
});

describe('QueryCache on Redis: shared store', () => {
  let redis: RedisServer;
  let first: Harness;
  let second: Harness;
  let client: RedisClientType;
  const namespace = unique('shared');

  beforeAll(async () => {
    redis = await startRedis();
    first = await buildHarness({ store: 'redis', redisUrl: redis.url, namespace });
    second = await buildHarness({ store: 'redis', redisUrl: redis.url, namespace });
    client = await inspector(redis.url);
    await waitFor('both caches ready', () => first.cache.stats().connected);
    await waitFor('both caches ready', () => second.cache.stats().connected);
  });

  afterAll(async () => {
    await client?.close().catch(() => client.destroy());
    await first?.close();
    await second?.close();
    await redis?.stop();
  });

  it('keeps its entries in Redis, every key under "<namespace>::"', async () => {
    const key = unique('k');
    const tag = unique('t');
    await first.cache.getOrLoad(key, async () => ({ stored: true }), { tags: [tag] });
    const keys = await client.keys('*');
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const k of keys) expect(k.startsWith(`${namespace}::`)).toBe(true);
    expect(keys).toEqual(
      expect.arrayContaining([
        `${namespace}::entry:${key}`,
        `${namespace}::t:${tag}`,
        `${namespace}::epoch`,
      ]),
    );
    const raw = await client.get(`${namespace}::entry:${key}`);
    expect(raw).toContain('stored');
  });

  it('the entry of a load carries the TTL in Redis', async () => {
    const key = unique('k');
    await first.cache.getOrLoad(key, async () => 1, { tags: [], ttlMs: 60_000 });
    const ttl = await client.pTTL(`${namespace}::entry:${key}`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('a second instance sees the first one’s entries', async () => {
    const key = unique('k');
    const a = counting({ from: 'first' });
    const b = counting({ from: 'second' });
    await first.cache.getOrLoad(key, a.loader, { tags: ['shared'] });
    await expect(second.cache.getOrLoad(key, b.loader, { tags: ['shared'] })).resolves.toEqual({
      from: 'first',
    });
    expect([a.calls(), b.calls()]).toEqual([1, 0]);
  });

  it('an invalidation by one instance is seen by the other', async () => {
    const key = unique('k');
    const tag = unique('t');
    const a = counting('a');
    const b = counting('b');
    await first.cache.getOrLoad(key, a.loader, { tags: [tag] });
    await second.cache.getOrLoad(key, b.loader, { tags: [tag] });
    expect(b.calls()).toBe(0);
    await second.cache.invalidate([tag]);
    await expect(first.cache.getOrLoad(key, a.loader, { tags: [tag] })).resolves.toBe('a');
    expect(a.calls()).toBe(2);
    await first.cache.invalidateAll();
    await expect(second.cache.getOrLoad(key, b.loader, { tags: [tag] })).resolves.toBe('b');
    expect(b.calls()).toBe(1);
  });

  it('a load on one instance racing an invalidation by the other is not served afterwards', async () => {
    // The tag has no token in Redis yet (nobody has cached or invalidated it).
    const key = unique('k');
    const tag = unique('cold-tag');
    let value = 'old';
    const hasRead = deferred();
    const gate = deferred();
    const slow = first.cache.getOrLoad(
      key,
      async () => {
        const read = value;
        hasRead.resolve();
        await gate.promise;
        return read;
      },
      { tags: [tag] },
    );
    await hasRead.promise;
    value = 'new'; // another process commits a write ...
    await second.cache.invalidate([tag]); // ... and invalidates after its commit
    gate.resolve();
    await expect(slow).resolves.toBe('old');
    await expect(second.cache.getOrLoad(key, async () => value, { tags: [tag] })).resolves.toBe(
      'new',
    );
  });
});

describe('QueryCache on Redis: outages', () => {
  const OP_TIMEOUT_MS = 50;
  /** Timers and the loader on a busy machine; far below any wait for Redis itself. */
  const SLACK_MS = 100;
  let redis: RedisServer | undefined;
  let harness: Harness | undefined;

  afterEach(async () => {
    // A paused server must run again, or closing the client would wait for it.
    await redis?.kill('SIGCONT');
    await harness?.close();
    await redis?.stop();
    harness = undefined;
    redis = undefined;
  });

  async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
    const start = performance.now();
    const value = await fn();
    return { value, ms: performance.now() - start };
  }

  it('a killed Redis costs misses, never errors or waits; the breaker then bypasses it', async () => {
    redis = await startRedis();
    harness = await buildHarness({
      store: 'redis',
      redisUrl: redis.url,
      namespace: unique('kill'),
      opTimeoutMs: OP_TIMEOUT_MS,
      breakerThreshold: 5,
      breakerResetMs: 1_500,
    });
    const { cache } = harness;
    await waitFor('ready', () => cache.stats().connected);
    const key = unique('k');
    await cache.getOrLoad(key, async () => 'cached', { tags: ['kill'] });
    await expect(cache.getOrLoad(key, async () => 'loaded', { tags: ['kill'] })).resolves.toBe(
      'cached',
    );

    await redis.kill('SIGKILL');
    await waitFor('the client to notice', () => !cache.stats().connected);
    expect(cache.stats()).toEqual(expect.objectContaining({ connected: false }));

    const before = cache.stats();
    const durations: number[] = [];
    for (let i = 0; i < 12; i++) {
      const { value, ms } = await timed(() =>
        cache.getOrLoad(key, async () => `loaded-${i}`, { tags: ['kill'] }),
      );
      expect(value).toBe(`loaded-${i}`);
      durations.push(ms);
    }
    expect(Math.max(...durations)).toBeLessThan(OP_TIMEOUT_MS + SLACK_MS);
    const after = cache.stats();
    // Five failed calls open the breaker; the other reads skip the store without an error.
    expect(delta(before, after)).toEqual(
      expect.objectContaining({ errors: 5, bypassed: 7, hits: 0 }),
    );
    expect(after).toEqual(expect.objectContaining({ connected: false, breaker: 'open' }));
    for (let i = 0; i < 20; i++) await cache.getOrLoad(unique('k'), async () => i, { tags: [] });
    expect(delta(after, cache.stats())).toEqual(
      expect.objectContaining({ errors: 0, bypassed: 20 }),
    );

    // Invalidations during the outage neither throw nor wait.
    const invalidation = await timed(() => cache.invalidate(['kill']));
    expect(invalidation.ms).toBeLessThan(OP_TIMEOUT_MS + SLACK_MS);

    // Back (empty, on the same port): within 15 s the cache stores and hits again.
    await redis.restart();
    const recovery = await waitFor(
      'the cache to hit again',
      () => {
        void cache.getOrLoad(key, async () => 'after', { tags: ['kill'] });
        return cache.stats().hits > after.hits;
      },
      15_000,
    );
    expect(cache.stats()).toEqual(expect.objectContaining({ connected: true, breaker: 'closed' }));
    await expect(cache.getOrLoad(key, async () => 'unexpected', { tags: ['kill'] })).resolves.toBe(
      'after',
    );
    expect(recovery).toBeLessThan(15_000);
  });

  it('a hung Redis (SIGSTOP) costs at most opTimeoutMs per call, and invalidations made meanwhile are not lost', async () => {
    redis = await startRedis();
    const namespace = unique('stop');
    harness = await buildHarness({
      store: 'redis',
      redisUrl: redis.url,
      namespace,
      opTimeoutMs: OP_TIMEOUT_MS,
      breakerThreshold: 5,
      breakerResetMs: 500,
    });
    const { cache } = harness;
    await waitFor('ready', () => cache.stats().connected);
    const key = unique('k');
    const tag = unique('t');
    await cache.getOrLoad(key, async () => 'v1', { tags: [tag] });
    await expect(cache.getOrLoad(key, async () => 'v2', { tags: [tag] })).resolves.toBe('v1');

    const client = await inspector(redis.url);
    const tokenKey = `${namespace}::t:${tag}`;
    const tokenBefore = await client.get(tokenKey);
    expect(tokenBefore).not.toBeNull();

    await redis.kill('SIGSTOP');
    const before = cache.stats();
    const durations: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { value, ms } = await timed(() =>
        cache.getOrLoad(unique('other'), async () => i, { tags: [] }),
      );
      expect(value).toBe(i);
      durations.push(ms);
    }
    for (const ms of durations) {
      expect(ms).toBeGreaterThanOrEqual(OP_TIMEOUT_MS - 5);
      expect(ms).toBeLessThan(OP_TIMEOUT_MS + SLACK_MS);
    }
    expect(delta(before, cache.stats()).errors).toBe(5);
    expect(cache.stats()).toEqual(expect.objectContaining({ connected: false, breaker: 'open' }));

    // The value changes and is invalidated while the store cannot be told.
    const invalidation = await timed(() => cache.invalidate([tag]));
    expect(invalidation.ms).toBeLessThan(OP_TIMEOUT_MS + SLACK_MS);
    await expect(cache.getOrLoad(key, async () => 'v2', { tags: [tag] })).resolves.toBe('v2');

    // The process resumes with its data: the old entry of `key` is still in Redis, and so is the
    // tag's old token (the invalidation never reached it): only the new epoch keeps it out.
    await redis.kill('SIGCONT');
    try {
      expect(await client.get(tokenKey)).toBe(tokenBefore);
      expect(await client.exists(`${namespace}::entry:${key}`)).toBe(1);
    } finally {
      await client.close().catch(() => client.destroy());
    }
    const hitsBefore = cache.stats().hits;
    const seen: string[] = [];
    const start = Date.now();
    while (cache.stats().hits === hitsBefore) {
      if (Date.now() - start > 15_000) throw new Error('the cache did not hit again within 15 s');
      const { value, ms } = await timed(() =>
        cache.getOrLoad(key, async () => 'v2', { tags: [tag] }),
      );
      seen.push(value);
      // Whatever state the breaker is in, one read never waits much longer than one store call
      // (the read, the recovery epoch write and the store of the value: at most three calls).
      expect(ms).toBeLessThan(3 * OP_TIMEOUT_MS + SLACK_MS);
      await sleep(50);
    }
    expect(new Set(seen)).toEqual(new Set(['v2']));
    expect(cache.stats()).toEqual(expect.objectContaining({ connected: true, breaker: 'closed' }));
    await expect(cache.getOrLoad(key, async () => 'v3', { tags: [tag] })).resolves.toBe('v2');
  });

  it('shuts down promptly while Redis is hung (SIGSTOP)', async () => {
    redis = await startRedis();
    const hung = await buildHarness({
      store: 'redis',
      redisUrl: redis.url,
      namespace: unique('hung-close'),
      opTimeoutMs: OP_TIMEOUT_MS,
    });
    harness = hung;
    await waitFor('ready', () => hung.cache.stats().connected);
    await hung.cache.getOrLoad(unique('k'), async () => 1, { tags: [] });
    await redis.kill('SIGSTOP');
    // A call that timed out leaves its command waiting for a reply that will not come.
    await expect(hung.cache.getOrLoad(unique('k'), async () => 2, { tags: [] })).resolves.toBe(2);
    const start = Date.now();
    const closed = hung.close().then(() => Date.now() - start);
    try {
      // The application's whole shutdown must end within 15 s (API.md §3); the cache's part of it
      // should not take more than a moment.
      await expect(within('closing the cache while Redis is hung', closed, 3_000)).resolves.toEqual(
        expect.any(Number),
      );
    } finally {
      await redis.kill('SIGCONT');
      await closed;
    }
  });

  it('starts and serves loader values when nothing listens at the Redis URL', async () => {
    const port = await freePort();
    const started = Date.now();
    harness = await buildHarness({
      store: 'redis',
      redisUrl: `redis://127.0.0.1:${port}`,
      namespace: unique('down'),
      opTimeoutMs: OP_TIMEOUT_MS,
    });
    expect(Date.now() - started).toBeLessThan(3_000);
    const { cache } = harness;
    expect(cache.stats()).toEqual(expect.objectContaining({ store: 'redis', connected: false }));
    for (let i = 0; i < 10; i++) {
      const { value, ms } = await timed(() =>
        cache.getOrLoad('k', async () => `value-${i}`, { tags: ['x'] }),
      );
      expect(value).toBe(`value-${i}`);
      expect(ms).toBeLessThan(OP_TIMEOUT_MS + SLACK_MS);
    }
    await cache.invalidate(['x']);
    await cache.invalidateAll();
    expect(cache.stats().connected).toBe(false);

    // Once a server appears on that port, the cache uses it.
    redis = await startRedis(port);
    await waitFor(
      'the cache to store and hit',
      () => {
        void cache.getOrLoad('k', async () => 'late', { tags: ['x'] });
        return cache.stats().hits > 0;
      },
      15_000,
    );
    await expect(cache.getOrLoad('k', async () => 'other', { tags: ['x'] })).resolves.toBe('late');
  });
});
