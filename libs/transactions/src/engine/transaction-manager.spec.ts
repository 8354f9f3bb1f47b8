import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoggerService } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  DuckDbClient,
  DuckDbModule,
  type DuckDbModuleOptions,
  DuckDbPool,
  IllegalTransactionStateError,
  Propagation,
} from '@lib/duckdb';
import { TransactionsModule } from '../transactions.module';
import { TransactionManager } from './transaction-manager';
import { barrier, settle } from '@lib/common/testing';

interface Engine {
  db: DuckDbClient;
  manager: TransactionManager;
  pool: DuckDbPool;
}

let dir: string;
let counter = 0;
const modules: TestingModule[] = [];

/** Failing hooks are logged at error level; these tests assert them through the counters. */
const silent: LoggerService = {
  log: () => undefined,
  error: () => undefined,
  warn: () => undefined,
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'transaction-manager-spec-'));
});

afterAll(async () => {
  for (const moduleRef of modules.splice(0)) await moduleRef.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(options: Omit<DuckDbModuleOptions, 'path'> = {}): Promise<Engine> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      DuckDbModule.forRoot({
        path: join(dir, `engine-${++counter}.duckdb`),
        isGlobal: true,
        ...options,
      }),
      TransactionsModule,
    ],
  })
    .setLogger(silent)
    .compile();
  modules.push(moduleRef);
  await moduleRef.init();
  return {
    db: moduleRef.get(DuckDbClient),
    manager: moduleRef.get(TransactionManager),
    pool: moduleRef.get(DuckDbPool),
  };
}

describe('TransactionManager', () => {
  describe('after-commit hooks and the pool', () => {
    // Regression: after-commit hooks once ran while the owner still held the transaction's
    // connection, so a hook that used the database waited for a connection only its own
    // transaction could give back (until the acquire timeout, then failed).
    it('lets an after-commit hook read the database on a one-connection pool without waiting', async () => {
      const { db, manager } = await start({ pool: { min: 1, max: 1, acquireTimeoutMs: 1000 } });
      await db.execute('CREATE TABLE t (id INTEGER)');
      let seen: unknown;
      const started = performance.now();
      await db.transaction(async () => {
        await db.execute('INSERT INTO t VALUES (1)');
        manager.addHook('afterCommit', async () => {
          seen = await db.query('SELECT id FROM t');
        });
      });
      const elapsed = performance.now() - started;
      expect({ seen, hookFailures: manager.stats().hookFailures }).toEqual({
        seen: [{ id: 1 }],
        hookFailures: 0,
      });
      expect(elapsed).toBeLessThan(500);
    });

    it('lets concurrent transactions whose after-commit hooks read the database all finish', async () => {
      const { db, manager } = await start({ pool: { min: 2, max: 2, acquireTimeoutMs: 1000 } });
      await db.execute('CREATE TABLE t (id INTEGER)');
      const arrive = barrier(2);
      const seen: number[] = [];
      const started = performance.now();
      await Promise.all(
        [1, 2].map((id) =>
          db.transaction(async () => {
            await db.execute('INSERT INTO t VALUES ($1)', [id]);
            manager.addHook('afterCommit', async () => {
              const row = await db.queryOne<{ n: number }>('SELECT count(*) AS n FROM t');
              seen.push(row?.n ?? -1);
            });
            // Both transactions hold their connection at the same time.
            await arrive();
          }),
        ),
      );
      const elapsed = performance.now() - started;
      expect({ hooksThatRead: seen.length, hookFailures: manager.stats().hookFailures }).toEqual({
        hooksThatRead: 2,
        hookFailures: 0,
      });
      expect(elapsed).toBeLessThan(500);
    });
  });

  describe('propagation on a one-connection pool', () => {
    // Regression: NotSupported needs a second connection as much as RequiresNew does (its
    // statements run on the pool while the suspended transaction holds the only one); it once
    // waited for the acquire timeout instead of failing fast.
    it('does not hang a NotSupported scope inside a transaction: it fails fast like RequiresNew', async () => {
      const { db } = await start({ pool: { min: 1, max: 1, acquireTimeoutMs: 2000 } });
      await db.execute('CREATE TABLE t (id INTEGER)');
      const started = performance.now();
      const { error } = await settle(
        db.transaction(() =>
          db.transaction(() => db.execute('INSERT INTO t VALUES (1)'), {
            propagation: Propagation.NotSupported,
          }),
        ),
      );
      expect(performance.now() - started).toBeLessThan(500);
      expect(error).toBeInstanceOf(IllegalTransactionStateError);
    });
  });

  describe('reads inside transactions', () => {
    // Regression (DuckDB 1.5.6 + the per-connection statement cache): a cached ORDER BY statement
    // kept the compressed materialization planned from the statistics at PREPARE time, so values
    // written later outside that range came back truncated (1000 → 232, -5 → 251).
    it('returns what the transaction wrote through a cached ORDER BY statement', async () => {
      const { db } = await start({ pool: { min: 1, max: 1 } });
      await db.execute('CREATE TABLE chain (slot INTEGER PRIMARY KEY, model VARCHAR)');
      await db.execute(`INSERT INTO chain VALUES (1, 'a'), (2, 'b')`);
      const chain = () => db.query('SELECT slot, model FROM chain ORDER BY slot');
      await expect(chain()).resolves.toEqual([
        { slot: 1, model: 'a' },
        { slot: 2, model: 'b' },
      ]);
      const inside = await db.transaction(async () => {
        await db.execute(`INSERT INTO chain VALUES (1000, 'c'), (-5, 'z')`);
        return chain();
      });
      const expected = [
        { slot: -5, model: 'z' },
        { slot: 1, model: 'a' },
        { slot: 2, model: 'b' },
        { slot: 1000, model: 'c' },
      ];
      expect({ inside, after: await chain() }).toEqual({ inside: expected, after: expected });
    });
  });

  describe('retries', () => {
    it('draws one jitter per rerun from the injected random source', async () => {
      const draws: number[] = [];
      const { db } = await start({
        pool: { max: 4 },
        transactions: {
          retryBaseDelayMs: 1000,
          random: () => {
            draws.push(0);
            return 0;
          },
        },
      });
      await db.execute('CREATE TABLE counters (id INTEGER PRIMARY KEY, v INTEGER)');
      await db.execute('INSERT INTO counters VALUES (1, 0)');
      const arrive = barrier(2);
      const increment = () =>
        db.transaction(
          async () => {
            await db.query('SELECT v FROM counters');
            await arrive();
            await db.execute('UPDATE counters SET v = v + 1 WHERE id = 1');
          },
          { retries: 3 },
        );
      const started = performance.now();
      await Promise.all([increment(), increment()]);
      // A 1000 ms base step scaled by a jitter of 0: the rerun starts at once.
      expect(performance.now() - started).toBeLessThan(500);
      expect(draws).toHaveLength(1);
      await expect(db.queryOne('SELECT v FROM counters')).resolves.toEqual({ v: 2 });
    });
  });

  describe('runAndRollback', () => {
    it('always rolls back, runs after-rollback hooks only, and refuses to nest', async () => {
      const { db, manager } = await start({ pool: { max: 2 } });
      await db.execute('CREATE TABLE t (id INTEGER)');
      const events: string[] = [];
      const result = await manager.runAndRollback(async () => {
        await db.execute('INSERT INTO t VALUES (1)');
        manager.addHook('afterCommit', () => void events.push('after commit'));
        manager.addHook('afterRollback', () => void events.push('after rollback'));
        await expect(manager.runAndRollback(async () => undefined)).rejects.toBeInstanceOf(
          IllegalTransactionStateError,
        );
        return db.query('SELECT id FROM t');
      });
      expect(result).toEqual([{ id: 1 }]);
      expect(events).toEqual(['after rollback']);
      await expect(db.query('SELECT id FROM t')).resolves.toEqual([]);
    });
  });
});
