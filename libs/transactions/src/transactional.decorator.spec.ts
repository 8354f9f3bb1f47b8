import { Injectable, type Provider } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import {
  ConstraintViolationError,
  DuckDbClient,
  type DuckDbModuleOptions,
  DuckDbPool,
  transactionStorage,
} from '@lib/duckdb';
import {
  IllegalTransactionStateError,
  Propagation,
  ReadOnlyTransactionError,
  TransactionClosedError,
  TransactionHost,
  TransactionTimeoutError,
  Transactional,
  UnexpectedRollbackError,
  UseTransaction,
} from '@lib/transactions';
import { compileWithDuckDb } from './testing';
import { sleep } from '@lib/common/testing';

/** What a scope saw: whether it ran in a transaction, and the ids visible to it after its insert. */
interface Seen {
  inTransaction: boolean;
  ids: number[];
}

/** Runs `fn` outside any transaction (on its own pooled connection): what other clients see. */
function outside<T>(fn: () => Promise<T>): Promise<T> {
  return transactionStorage.exit(fn);
}

@Injectable()
class Items {
  constructor(readonly db: DuckDbClient) {}

  async add(id: number): Promise<void> {
    await this.db.execute('INSERT INTO items VALUES ($1)', [id]);
  }

  async ids(): Promise<number[]> {
    const rows = await this.db.query<{ id: number }>('SELECT id FROM items ORDER BY id');
    return rows.map((row) => row.id);
  }

  async addAndLook(id: number): Promise<Seen> {
    await this.add(id);
    return { inTransaction: this.db.isInTransaction(), ids: await this.ids() };
  }
}

/** One method per propagation; `bodies` counts the method bodies that actually ran. */
@Injectable()
class Inner {
  bodies = 0;

  constructor(private readonly items: Items) {}

  @Transactional()
  required(id: number): Promise<Seen> {
    this.bodies++;
    return this.items.addAndLook(id);
  }

  @Transactional()
  async requiredThenFail(id: number): Promise<never> {
    this.bodies++;
    await this.items.add(id);
    throw new Error('inner scope failed');
  }

  @Transactional({ propagation: Propagation.RequiresNew })
  requiresNew(id: number): Promise<Seen> {
    this.bodies++;
    return this.items.addAndLook(id);
  }

  @Transactional({ propagation: Propagation.RequiresNew })
  async requiresNewThenFail(id: number): Promise<never> {
    this.bodies++;
    await this.items.add(id);
    throw new Error('independent scope failed');
  }

  @Transactional({ propagation: Propagation.Mandatory })
  mandatory(id: number): Promise<Seen> {
    this.bodies++;
    return this.items.addAndLook(id);
  }

  @Transactional({ propagation: Propagation.Supports })
  supports(id: number): Promise<Seen> {
    this.bodies++;
    return this.items.addAndLook(id);
  }

  @Transactional({ propagation: Propagation.Supports })
  async supportsThenFail(id: number): Promise<never> {
    this.bodies++;
    await this.items.add(id);
    throw new Error('supports scope failed');
  }

  @Transactional({ propagation: Propagation.NotSupported })
  notSupported(id: number): Promise<Seen> {
    this.bodies++;
    return this.items.addAndLook(id);
  }

  @Transactional({ propagation: Propagation.Never })
  never(id: number): Promise<Seen> {
    this.bodies++;
    return this.items.addAndLook(id);
  }

  @Transactional({ readOnly: true })
  readOnlyLook(): Promise<number[]> {
    return this.items.ids();
  }

  @Transactional({ timeoutMs: 1000 })
  shortTimeout(id: number): Promise<Seen> {
    this.bodies++;
    return this.items.addAndLook(id);
  }

  @Transactional({ timeoutMs: 5000 })
  sameTimeout(id: number): Promise<Seen> {
    this.bodies++;
    return this.items.addAndLook(id);
  }
}

@Injectable()
class Outer {
  /** A promise of what a stray statement left behind by {@link leaveStrays} got. */
  strays: Promise<unknown[]> | undefined;

  constructor(
    private readonly items: Items,
    private readonly inner: Inner,
    private readonly db: DuckDbClient,
  ) {}

  /** Inserts `id`, then runs `body`, in one Required transaction. */
  @Transactional()
  async run<T>(id: number, body: () => Promise<T>): Promise<T> {
    await this.items.add(id);
    return body();
  }

  @Transactional({ readOnly: true })
  async readOnly<T>(body: () => Promise<T>): Promise<T> {
    return body();
  }

  @Transactional({ readOnly: true })
  readOnlyInsert(id: number): Promise<void> {
    return this.items.add(id);
  }

  @Transactional({ timeoutMs: 5000 })
  async withTimeout<T>(body: () => Promise<T>): Promise<T> {
    return body();
  }

  @Transactional({ timeoutMs: 100 })
  async longQuery(id: number): Promise<void> {
    await this.items.add(id);
    await this.db.query('SELECT count(*) AS n FROM range(10000000000)');
  }

  @Transactional({ timeoutMs: 100 })
  async idleTooLong(id: number, thenWrite: boolean): Promise<string> {
    await this.items.add(id);
    await sleep(300);
    if (thenWrite) await this.items.add(id + 1);
    return 'finished late';
  }

  @Transactional()
  async swallowInnerFailure(id: number): Promise<string> {
    await this.items.add(id);
    await this.inner.requiredThenFail(id + 1).catch(() => undefined);
    return 'carried on';
  }

  @Transactional()
  async swallowDuplicate(id: number, duplicate: number): Promise<string> {
    await this.items.add(id);
    try {
      await this.items.add(duplicate);
    } catch {
      // The caller "handles" it; the transaction is doomed all the same.
    }
    return 'carried on';
  }

  @Transactional()
  async leaveStrays(id: number): Promise<void> {
    await this.items.add(id);
    this.strays = new Promise<unknown[]>((resolve) => {
      setTimeout(() => {
        const settle = (work: Promise<unknown>) =>
          work.then(
            () => 'ran',
            (error: unknown) => error,
          );
        void Promise.all([
          settle(this.items.add(id + 100)),
          settle(this.db.query('SELECT 1 AS one')),
        ]).then(resolve);
      }, 50);
    });
  }

  @Transactional()
  async fiftyAtOnce(): Promise<unknown[]> {
    await Promise.all(Array.from({ length: 50 }, (_, i) => this.items.add(i + 1)));
    return Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 === 0
          ? this.db.queryOne('SELECT id, id * 2 AS twice FROM items WHERE id = $1', [i + 1])
          : this.db.queryOne('SELECT $1::INTEGER AS n, $2::VARCHAR AS label', [
              i + 1,
              `label-${i + 1}`,
            ]),
      ),
    );
  }
}

interface App {
  moduleRef: TestingModule;
  db: DuckDbClient;
  host: TransactionHost;
  outer: Outer;
  inner: Inner;
  items: Items;
  close: () => Promise<void>;
}

async function startApp(options: Omit<DuckDbModuleOptions, 'path'> = {}): Promise<App> {
  const providers: Provider[] = [Items, Inner, Outer];
  const { moduleRef, removeFiles } = await compileWithDuckDb({ providers }, options);
  await moduleRef.init();
  const db = moduleRef.get(DuckDbClient);
  await db.execute('CREATE TABLE items (id INTEGER PRIMARY KEY)');
  return {
    moduleRef,
    db,
    host: moduleRef.get(TransactionHost),
    outer: moduleRef.get(Outer),
    inner: moduleRef.get(Inner),
    items: moduleRef.get(Items),
    close: async () => {
      try {
        await moduleRef.close();
      } finally {
        removeFiles();
      }
    },
  };
}

describe('@Transactional', () => {
  let app: App;
  let outer: Outer;
  let inner: Inner;
  let items: Items;
  const committed = (): Promise<number[]> => outside(() => items.ids());

  beforeAll(async () => {
    app = await startApp();
    ({ outer, inner, items } = app);
  });

  afterAll(() => app.close());

  beforeEach(async () => {
    await app.db.execute('DELETE FROM items');
    inner.bodies = 0;
  });

  describe('propagation', () => {
    it('Required joins the caller: it sees the uncommitted row, and both commit together', async () => {
      const seen = await outer.run(1, async () => {
        const inside = await inner.required(2);
        // The inner scope returned, but nothing is committed until the outer scope ends.
        await expect(committed()).resolves.toEqual([]);
        return inside;
      });
      expect(seen).toEqual({ inTransaction: true, ids: [1, 2] });
      await expect(committed()).resolves.toEqual([1, 2]);
    });

    it('Required: when the outer scope fails after the inner returned, neither is stored', async () => {
      await expect(
        outer.run(1, async () => {
          await inner.required(2);
          throw new Error('outer failed');
        }),
      ).rejects.toThrow('outer failed');
      await expect(committed()).resolves.toEqual([]);
    });

    it('RequiresNew runs apart: it cannot see the outer row, and commits even if the outer rolls back', async () => {
      await expect(
        outer.run(1, async () => {
          const seen = await inner.requiresNew(2);
          expect(seen).toEqual({ inTransaction: true, ids: [2] });
          // Committed as soon as the inner scope returned, while the outer is still open.
          await expect(committed()).resolves.toEqual([2]);
          // The outer resumes on its own connection and snapshot.
          await expect(items.ids()).resolves.toEqual([1]);
          throw new Error('outer failed');
        }),
      ).rejects.toThrow('outer failed');
      await expect(committed()).resolves.toEqual([2]);
    });

    it('RequiresNew: a failed independent scope caught by the outer does not doom the outer', async () => {
      await outer.run(1, async () => {
        await expect(inner.requiresNewThenFail(2)).rejects.toThrow('independent scope failed');
      });
      await expect(committed()).resolves.toEqual([1]);
    });

    it('RequiresNew fails fast with IllegalTransactionStateError when the pool has one connection', async () => {
      const single = await startApp({ pool: { min: 1, max: 1, acquireTimeoutMs: 5000 } });
      try {
        const started = performance.now();
        await expect(single.outer.run(1, () => single.inner.requiresNew(2))).rejects.toBeInstanceOf(
          IllegalTransactionStateError,
        );
        expect(performance.now() - started).toBeLessThan(1000);
        expect(single.inner.bodies).toBe(0);
        await expect(outside(() => single.items.ids())).resolves.toEqual([]);
        // Outside a transaction it simply begins one.
        await expect(single.inner.requiresNew(3)).resolves.toEqual({
          inTransaction: true,
          ids: [3],
        });
      } finally {
        await single.close();
      }
    });

    it('Mandatory throws IllegalTransactionStateError outside a transaction, without running', async () => {
      await expect(inner.mandatory(1)).rejects.toBeInstanceOf(IllegalTransactionStateError);
      expect(inner.bodies).toBe(0);
      await expect(committed()).resolves.toEqual([]);
    });

    it('Mandatory joins inside a transaction', async () => {
      await expect(outer.run(1, () => inner.mandatory(2))).resolves.toEqual({
        inTransaction: true,
        ids: [1, 2],
      });
      await expect(
        outer.run(3, async () => {
          await inner.mandatory(4);
          throw new Error('outer failed');
        }),
      ).rejects.toThrow('outer failed');
      await expect(committed()).resolves.toEqual([1, 2]);
    });

    it('Supports joins inside a transaction', async () => {
      await expect(
        outer.run(1, async () => {
          expect(await inner.supports(2)).toEqual({ inTransaction: true, ids: [1, 2] });
          throw new Error('outer failed');
        }),
      ).rejects.toThrow('outer failed');
      await expect(committed()).resolves.toEqual([]);
    });

    it('Supports runs without a transaction outside one: each statement autocommits', async () => {
      await expect(inner.supports(1)).resolves.toEqual({ inTransaction: false, ids: [1] });
      await expect(inner.supportsThenFail(2)).rejects.toThrow('supports scope failed');
      // Nothing to roll back: the insert before the failure stays.
      await expect(committed()).resolves.toEqual([1, 2]);
    });

    it('NotSupported suspends the transaction: its writes are visible at once and survive a rollback', async () => {
      await expect(
        outer.run(1, async () => {
          // It does not see the outer's uncommitted row: it runs outside the transaction.
          expect(await inner.notSupported(2)).toEqual({ inTransaction: false, ids: [2] });
          await expect(committed()).resolves.toEqual([2]);
          // The outer transaction is resumed afterwards.
          expect(app.db.isInTransaction()).toBe(true);
          throw new Error('outer failed');
        }),
      ).rejects.toThrow('outer failed');
      await expect(committed()).resolves.toEqual([2]);
    });

    it('Never throws IllegalTransactionStateError inside a transaction, and runs outside one', async () => {
      await expect(outer.run(1, () => inner.never(2))).rejects.toBeInstanceOf(
        IllegalTransactionStateError,
      );
      expect(inner.bodies).toBe(0);
      await expect(committed()).resolves.toEqual([]);
      await expect(inner.never(3)).resolves.toEqual({ inTransaction: false, ids: [3] });
    });

    it('refuses NESTED and unknown propagations when the class is defined', () => {
      expect(() => {
        class Nested {
          @Transactional({ propagation: 'NESTED' as never })
          async save(): Promise<void> {}
        }
        return Nested;
      }).toThrow(/savepoints/);
      expect(() => {
        class Unknown {
          @Transactional({ propagation: 'SOMETIMES' as never })
          async save(): Promise<void> {}
        }
        return Unknown;
      }).toThrow(/unknown propagation/);
      expect(() => UseTransaction({ propagation: 'nested' as never })).toThrow(/savepoints/);
      expect(() => {
        class BadRetries {
          @Transactional({ retries: -1 })
          async save(): Promise<void> {}
        }
        return BadRetries;
      }).toThrow(TypeError);
    });
  });

  describe('rollback-only', () => {
    it('a failed inner Required scope dooms the outer even when the outer catches it', async () => {
      const error = await outer.swallowInnerFailure(1).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UnexpectedRollbackError);
      expect((error as UnexpectedRollbackError).cause).toEqual(new Error('inner scope failed'));
      await expect(committed()).resolves.toEqual([]);
    });

    it('a failed statement dooms the transaction even when its error is caught', async () => {
      await items.add(1);
      const error = await outer.swallowDuplicate(2, 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UnexpectedRollbackError);
      expect((error as UnexpectedRollbackError).cause).toBeInstanceOf(ConstraintViolationError);
      await expect(committed()).resolves.toEqual([1]);
    });

    it('TransactionHost.setRollbackOnly dooms the transaction', async () => {
      await expect(
        outer.run(1, async () => {
          app.host.setRollbackOnly();
        }),
      ).rejects.toBeInstanceOf(UnexpectedRollbackError);
      await expect(committed()).resolves.toEqual([]);
    });
  });

  describe('readOnly', () => {
    it('a write inside a read-only transaction fails with ReadOnlyTransactionError', async () => {
      await expect(outer.readOnlyInsert(1)).rejects.toBeInstanceOf(ReadOnlyTransactionError);
      await expect(committed()).resolves.toEqual([]);
    });

    it('reads work in a read-only transaction, and a read-only scope may join a read-write one', async () => {
      await items.add(1);
      await expect(
        outer.readOnly(async () => [app.host.isReadOnly(), await items.ids()]),
      ).resolves.toEqual([true, [1]]);
      await expect(outer.run(2, () => inner.readOnlyLook())).resolves.toEqual([1, 2]);
      await expect(committed()).resolves.toEqual([1, 2]);
    });

    it('a read-write scope cannot join a read-only transaction', async () => {
      await expect(outer.readOnly(() => inner.required(1))).rejects.toBeInstanceOf(
        IllegalTransactionStateError,
      );
      expect(inner.bodies).toBe(0);
      await expect(committed()).resolves.toEqual([]);
    });

    it('a scope asking for another timeoutMs cannot join; the same one (or none) can', async () => {
      await expect(outer.withTimeout(() => inner.shortTimeout(1))).rejects.toBeInstanceOf(
        IllegalTransactionStateError,
      );
      expect(inner.bodies).toBe(0);
      await expect(
        outer.withTimeout(async () => [await inner.sameTimeout(2), await inner.required(3)]),
      ).resolves.toEqual([
        { inTransaction: true, ids: [2] },
        { inTransaction: true, ids: [2, 3] },
      ]);
      await expect(committed()).resolves.toEqual([2, 3]);
    });
  });

  describe('timeoutMs', () => {
    it('interrupts a long statement, rolls back, counts the timeout and leaves the pool usable', async () => {
      const pool = app.moduleRef.get(DuckDbPool);
      const timeoutsBefore = app.host.stats().timeouts;
      const started = performance.now();
      const error = await outer.longQuery(1).then(
        () => undefined,
        (e: unknown) => e,
      );
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(TransactionTimeoutError);
      expect((error as TransactionTimeoutError).timeoutMs).toBe(100);
      expect(elapsed).toBeLessThan(1000);
      expect(app.host.stats().timeouts).toBe(timeoutsBefore + 1);
      await expect(committed()).resolves.toEqual([]);
      // Every connection still works, in and out of transactions.
      await Promise.all([2, 3, 4, 5].map((id) => outer.run(id, async () => undefined)));
      await expect(committed()).resolves.toEqual([2, 3, 4, 5]);
      expect(pool.stats()).toMatchObject({ inUse: 0, waiting: 0 });
      expect(app.host.stats().active).toBe(0);
    });

    it('never commits a unit that outlived its limit while no statement was running', async () => {
      await expect(outer.idleTooLong(1, false)).rejects.toBeInstanceOf(TransactionTimeoutError);
      await expect(outer.idleTooLong(10, true)).rejects.toBeInstanceOf(TransactionTimeoutError);
      await expect(committed()).resolves.toEqual([]);
      await outer.run(20, async () => undefined);
      await expect(committed()).resolves.toEqual([20]);
    });
  });

  describe('revoked handles', () => {
    it('work left running after the transaction ended gets TransactionClosedError', async () => {
      await outer.leaveStrays(1);
      const results = await (outer.strays as Promise<unknown[]>);
      expect(results).toHaveLength(2);
      for (const result of results) expect(result).toBeInstanceOf(TransactionClosedError);
      // The stray insert did not run on some other pooled connection either.
      await expect(committed()).resolves.toEqual([1]);
    });
  });

  describe('concurrency inside one transaction', () => {
    it('answers 50 concurrent statements of one transaction correctly, one at a time', async () => {
      const results = await outer.fiftyAtOnce();
      expect(results).toEqual(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 === 0 ? { id: i + 1, twice: 2 * (i + 1) } : { n: i + 1, label: `label-${i + 1}` },
        ),
      );
      await expect(committed()).resolves.toHaveLength(50);
    });
  });

  describe('binding to the application', () => {
    it('runs each application’s methods with that application’s manager', async () => {
      const other = await startApp();
      try {
        const before = { mine: app.host.stats().committed, theirs: other.host.stats().committed };
        await outer.run(1, async () => undefined);
        await other.outer.run(7, async () => undefined);
        await other.outer.run(8, async () => undefined);
        expect(app.host.stats().committed - before.mine).toBe(1);
        expect(other.host.stats().committed - before.theirs).toBe(2);
        await expect(committed()).resolves.toEqual([1]);
        await expect(outside(() => other.items.ids())).resolves.toEqual([7, 8]);
      } finally {
        await other.close();
      }
      // Closing the other application leaves this one working.
      await outer.run(2, async () => undefined);
      await expect(committed()).resolves.toEqual([1, 2]);
    });
  });
});
