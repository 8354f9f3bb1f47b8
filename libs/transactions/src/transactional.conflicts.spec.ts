import { Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { ConstraintViolationError, DuckDbClient } from '@lib/duckdb';
import {
  TransactionConflictError,
  TransactionHost,
  type TransactionStats,
  Transactional,
} from '@lib/transactions';
import { compileWithDuckDb } from './testing';
import { barrier, settle } from '@lib/common/testing';

@Injectable()
class Counters {
  attempts = 0;

  constructor(private readonly db: DuckDbClient) {}

  /**
   * Both transactions take their snapshot, meet at the barrier, then update the same row: the
   * later writer conflicts (DuckDB: `Conflict on update!`) whichever order they arrive in.
   */
  private async incrementOnce(arrive: () => Promise<void>): Promise<number> {
    this.attempts++;
    await this.db.query('SELECT v FROM counters WHERE id = 1');
    await arrive();
    await this.db.execute('UPDATE counters SET v = v + 1 WHERE id = 1');
    return this.attempts;
  }

  @Transactional({ retries: 3 })
  incrementWithRetries(arrive: () => Promise<void>): Promise<number> {
    return this.incrementOnce(arrive);
  }

  @Transactional({ retries: 0 })
  incrementWithoutRetries(arrive: () => Promise<void>): Promise<number> {
    return this.incrementOnce(arrive);
  }

  /** Uses the module's `defaultRetries`. */
  @Transactional()
  incrementWithDefaults(arrive: () => Promise<void>): Promise<number> {
    return this.incrementOnce(arrive);
  }

  /** Owner without retries calling a joined scope that asks for many: the owner's count wins. */
  @Transactional({ retries: 0 })
  outerWithoutRetries(arrive: () => Promise<void>): Promise<number> {
    return this.innerWithRetries(arrive);
  }

  @Transactional({ retries: 5 })
  innerWithRetries(arrive: () => Promise<void>): Promise<number> {
    return this.incrementOnce(arrive);
  }

  @Transactional({ retries: 3 })
  async insertDuplicate(id: number): Promise<void> {
    this.attempts++;
    await this.db.execute('INSERT INTO slots VALUES ($1)', [id]);
  }

  /** Two of these racing for one key both succeed at the statement; the later COMMIT fails. */
  @Transactional({ retries: 3 })
  async claimSlot(id: number, arrive: () => Promise<void>): Promise<void> {
    this.attempts++;
    await this.db.execute('INSERT INTO slots VALUES ($1)', [id]);
    await arrive();
  }
}

describe('@Transactional write-write conflicts', () => {
  let removeFiles: () => void;
  let moduleRef: TestingModule;
  let db: DuckDbClient;
  let host: TransactionHost;
  let counters: Counters;
  let before: TransactionStats;

  const value = async (): Promise<unknown> =>
    (await db.queryOne<{ v: number }>('SELECT v FROM counters WHERE id = 1'))?.v;

  const delta = (): Partial<TransactionStats> => {
    const now = host.stats();
    return {
      committed: now.committed - before.committed,
      retried: now.retried - before.retried,
      conflicts: now.conflicts - before.conflicts,
    };
  };

  beforeAll(async () => {
    ({ moduleRef, removeFiles } = await compileWithDuckDb(
      { providers: [Counters] },
      { transactions: { defaultRetries: 2, retryBaseDelayMs: 5, retryMaxDelayMs: 20 } },
    ));
    await moduleRef.init();
    db = moduleRef.get(DuckDbClient);
    host = moduleRef.get(TransactionHost);
    counters = moduleRef.get(Counters);
    await db.execute('CREATE TABLE counters (id INTEGER PRIMARY KEY, v INTEGER)');
    await db.execute('CREATE TABLE slots (id INTEGER PRIMARY KEY)');
  });

  afterAll(async () => {
    await moduleRef.close();
    removeFiles();
  });

  beforeEach(async () => {
    await db.execute('DELETE FROM counters');
    await db.execute('INSERT INTO counters VALUES (1, 0)');
    await db.execute('DELETE FROM slots');
    counters.attempts = 0;
    before = host.stats();
  });

  it('with retries, reruns the loser so both increments land, as if run one after the other', async () => {
    const arrive = barrier(2);
    const results = await Promise.all([
      settle(counters.incrementWithRetries(arrive)),
      settle(counters.incrementWithRetries(arrive)),
    ]);
    expect(results.map((result) => result.error)).toEqual([undefined, undefined]);
    await expect(value()).resolves.toBe(2);
    expect(counters.attempts).toBe(3);
    expect(delta()).toEqual({ committed: 2, retried: 1, conflicts: 1 });
  });

  it('without retries, the loser rejects with TransactionConflictError and only one increment lands', async () => {
    const arrive = barrier(2);
    const results = await Promise.all([
      settle(counters.incrementWithoutRetries(arrive)),
      settle(counters.incrementWithoutRetries(arrive)),
    ]);
    const errors = results.map((result) => result.error).filter((error) => error !== undefined);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TransactionConflictError);
    await expect(value()).resolves.toBe(1);
    expect(counters.attempts).toBe(2);
    expect(delta()).toEqual({ committed: 1, retried: 0, conflicts: 1 });
  });

  it('uses the module’s defaultRetries when the method does not say', async () => {
    const arrive = barrier(2);
    await Promise.all([
      counters.incrementWithDefaults(arrive),
      counters.incrementWithDefaults(arrive),
    ]);
    await expect(value()).resolves.toBe(2);
    expect(delta()).toMatchObject({ retried: 1, conflicts: 1 });
  });

  it('lets only the outermost scope decide on retries', async () => {
    const arrive = barrier(2);
    const results = await Promise.all([
      settle(counters.outerWithoutRetries(arrive)),
      settle(counters.outerWithoutRetries(arrive)),
    ]);
    const errors = results.map((result) => result.error).filter((error) => error !== undefined);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TransactionConflictError);
    expect(counters.attempts).toBe(2);
    await expect(value()).resolves.toBe(1);
  });

  it('never retries a duplicate key inside a transaction', async () => {
    await db.execute('INSERT INTO slots VALUES (1)');
    const { error } = await settle(counters.insertDuplicate(1));
    expect(error).toBeInstanceOf(ConstraintViolationError);
    expect((error as ConstraintViolationError).kind).toBe('unique');
    expect(counters.attempts).toBe(1);
    expect(delta()).toEqual({ committed: 0, retried: 0, conflicts: 0 });
  });

  it('never retries a unique violation found at COMMIT (two transactions claiming one key)', async () => {
    const arrive = barrier(2);
    const results = await Promise.all([
      settle(counters.claimSlot(7, arrive)),
      settle(counters.claimSlot(7, arrive)),
    ]);
    const errors = results.map((result) => result.error).filter((error) => error !== undefined);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConstraintViolationError);
    expect(counters.attempts).toBe(2);
    await expect(db.query('SELECT id FROM slots')).resolves.toEqual([{ id: 7 }]);
    expect(delta()).toEqual({ committed: 1, retried: 0, conflicts: 0 });
  });
});

describe('transaction statistics', () => {
  it('counts a known sequence exactly: started counts attempts', async () => {
    const { moduleRef, removeFiles } = await compileWithDuckDb(
      { providers: [Counters] },
      { transactions: { retryBaseDelayMs: 5 } },
    );
    await moduleRef.init();
    try {
      const db = moduleRef.get(DuckDbClient);
      const host = moduleRef.get(TransactionHost);
      const counters = moduleRef.get(Counters);
      await db.execute('CREATE TABLE counters (id INTEGER PRIMARY KEY, v INTEGER)');
      await db.execute('INSERT INTO counters VALUES (1, 0)');
      expect(host.stats()).toMatchObject({ started: 0, committed: 0, rolledBack: 0 });

      // Two commits.
      await host.run(async () => db.execute('UPDATE counters SET v = v + 10 WHERE id = 1'));
      await host.run(async () => db.query('SELECT v FROM counters'));
      // One rollback.
      await expect(
        host.run(async () => {
          await db.execute('UPDATE counters SET v = -1 WHERE id = 1');
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      // One conflict, retried once: three attempts, two commits, one rollback.
      const arrive = barrier(2);
      await Promise.all([
        counters.incrementWithRetries(arrive),
        counters.incrementWithRetries(arrive),
      ]);

      const stats = host.stats();
      expect(stats).toMatchObject({
        started: 6,
        committed: 4,
        rolledBack: 2,
        retried: 1,
        conflicts: 1,
        timeouts: 0,
        hookFailures: 0,
        active: 0,
      });
      expect(stats.maxDurationMs).toBeGreaterThan(0);
      expect(stats.avgDurationMs).toBeGreaterThan(0);
      expect(stats.avgDurationMs).toBeLessThanOrEqual(stats.maxDurationMs);
      await expect(db.queryOne('SELECT v FROM counters')).resolves.toEqual({ v: 12 });

      // `active` counts transactions in flight.
      let activeInside = -1;
      await host.run(async () => {
        activeInside = host.stats().active;
      });
      expect(activeInside).toBe(1);
      expect(host.stats()).toMatchObject({ started: 7, committed: 5, active: 0 });
    } finally {
      await moduleRef.close();
      removeFiles();
    }
  });
});
