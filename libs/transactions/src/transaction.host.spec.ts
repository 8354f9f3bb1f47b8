import { Injectable, type LoggerService } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { DuckDbClient, transactionStorage } from '@lib/duckdb';
import { IllegalTransactionStateError, TransactionHost, Transactional } from '@lib/transactions';
import { compileWithDuckDb } from './testing';
import { sleep, barrier } from '@lib/common/testing';

/** Runs `fn` outside any transaction: what other clients see. */
function outside<T>(fn: () => Promise<T>): Promise<T> {
  return transactionStorage.exit(fn);
}

/** Keeps what the application logged at error level. */
class CapturingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  debug(): void {}
  verbose(): void {}
  error(message: unknown): void {
    this.errors.push(String(message));
  }
}

@Injectable()
class Orders {
  attempts = 0;

  constructor(
    private readonly db: DuckDbClient,
    private readonly host: TransactionHost,
  ) {}

  /** Inserts `id`, lets `during` register hooks, then fails with `failure` if given. */
  @Transactional()
  async place(id: number, during: () => unknown = () => undefined, failure?: Error) {
    await this.db.execute('INSERT INTO orders VALUES ($1)', [id]);
    await during();
    if (failure) throw failure;
    return `placed ${id}`;
  }

  /** A joined scope registering an after-commit hook. */
  @Transactional()
  async note(hook: () => unknown): Promise<void> {
    this.host.afterCommit(hook);
  }

  /** Reads, meets the other transaction, then updates: the later writer conflicts. */
  @Transactional({ retries: 3 })
  async increment(
    arrive: () => Promise<void>,
    onCommit: () => void,
    onRollback: () => void,
  ): Promise<void> {
    this.attempts++;
    this.host.afterCommit(onCommit);
    this.host.afterRollback(onRollback);
    await this.db.query('SELECT v FROM counters WHERE id = 1');
    await arrive();
    await this.db.execute('UPDATE counters SET v = v + 1 WHERE id = 1');
  }
}

describe('TransactionHost hooks', () => {
  let removeFiles: () => void;
  let moduleRef: TestingModule;
  let db: DuckDbClient;
  let host: TransactionHost;
  let orders: Orders;
  const logger = new CapturingLogger();

  const committed = async (): Promise<number[]> => {
    const rows = await outside(() => db.query<{ id: number }>('SELECT id FROM orders'));
    return rows.map((row) => row.id).sort((a, b) => a - b);
  };

  /** An async hook that records when it starts and ends, `ms` apart. */
  const step =
    (events: string[], name: string, ms = 0) =>
    async (): Promise<void> => {
      events.push(`${name}:start`);
      await sleep(ms);
      events.push(`${name}:end`);
    };

  beforeAll(async () => {
    ({ moduleRef, removeFiles } = await compileWithDuckDb(
      { providers: [Orders] },
      { transactions: { retryBaseDelayMs: 5 } },
      logger,
    ));
    await moduleRef.init();
    db = moduleRef.get(DuckDbClient);
    host = moduleRef.get(TransactionHost);
    orders = moduleRef.get(Orders);
    await db.execute('CREATE TABLE orders (id INTEGER PRIMARY KEY)');
    await db.execute('CREATE TABLE counters (id INTEGER PRIMARY KEY, v INTEGER)');
  });

  afterAll(async () => {
    await moduleRef.close();
    removeFiles();
  });

  beforeEach(async () => {
    await db.execute('DELETE FROM orders');
    logger.errors.length = 0;
  });

  it('runs hooks one at a time in registration order, each awaited, before the method settles', async () => {
    const events: string[] = [];
    await orders
      .place(1, () => {
        host.beforeCommit(step(events, 'before-1', 20));
        host.afterCommit(step(events, 'after-1', 30));
        host.afterRollback(step(events, 'rollback', 0));
        host.beforeCommit(step(events, 'before-2', 5));
        host.afterCommit(step(events, 'after-2', 5));
        host.afterCommit(() => void events.push('after-3 (sync)'));
      })
      .then(() => events.push('resolved'));
    expect(events).toEqual([
      'before-1:start',
      'before-1:end',
      'before-2:start',
      'before-2:end',
      'after-1:start',
      'after-1:end',
      'after-2:start',
      'after-2:end',
      'after-3 (sync)',
      'resolved',
    ]);
  });

  it('runs before-commit hooks inside the transaction and after-commit hooks after COMMIT', async () => {
    const seen: Record<string, unknown> = {};
    await orders.place(1, () => {
      host.beforeCommit(async () => {
        seen.beforeActive = host.isActive();
        seen.beforeOwnView = (await db.query('SELECT id FROM orders')).length;
        seen.beforeOthersView = (await committed()).length;
        await db.execute('INSERT INTO orders VALUES (2)');
      });
      host.afterCommit(async () => {
        seen.afterActive = host.isActive();
        // A fresh pooled connection: it only sees committed rows.
        seen.afterView = (await db.query<{ id: number }>('SELECT id FROM orders'))
          .map((row) => row.id)
          .sort((a, b) => a - b);
      });
    });
    expect(seen).toEqual({
      beforeActive: true,
      beforeOwnView: 1,
      beforeOthersView: 0,
      afterActive: false,
      afterView: [1, 2],
    });
    await expect(committed()).resolves.toEqual([1, 2]);
  });

  it('a failing before-commit hook rolls back and becomes the method’s error', async () => {
    const events: string[] = [];
    const failure = new Error('validation in beforeCommit');
    await expect(
      orders.place(1, () => {
        host.beforeCommit(() => {
          throw failure;
        });
        host.afterCommit(step(events, 'after'));
        host.afterRollback(step(events, 'rollback'));
      }),
    ).rejects.toBe(failure);
    expect(events).toEqual(['rollback:start', 'rollback:end']);
    await expect(committed()).resolves.toEqual([]);
  });

  it('a failing after-commit hook is logged and counted, never rethrown; later hooks still run', async () => {
    const events: string[] = [];
    const failuresBefore = host.stats().hookFailures;
    await expect(
      orders.place(1, () => {
        host.afterCommit(() => {
          throw new Error('cache invalidation failed');
        });
        host.afterCommit(step(events, 'after-2'));
      }),
    ).resolves.toBe('placed 1');
    expect(events).toEqual(['after-2:start', 'after-2:end']);
    expect(host.stats().hookFailures).toBe(failuresBefore + 1);
    expect(logger.errors.some((line) => line.includes('cache invalidation failed'))).toBe(true);
    await expect(committed()).resolves.toEqual([1]);
  });

  it('runs after-rollback hooks on rollback, never after-commit ones, before the method rejects', async () => {
    const events: string[] = [];
    const failure = new Error('business rule');
    await orders
      .place(
        1,
        () => {
          host.afterCommit(step(events, 'after-commit'));
          host.afterRollback(step(events, 'rollback-1', 20));
          host.afterRollback(step(events, 'rollback-2'));
        },
        failure,
      )
      .catch((error: unknown) => events.push(error === failure ? 'rejected' : 'other error'));
    expect(events).toEqual([
      'rollback-1:start',
      'rollback-1:end',
      'rollback-2:start',
      'rollback-2:end',
      'rejected',
    ]);
    await expect(committed()).resolves.toEqual([]);
  });

  it('a failing after-rollback hook does not replace the method’s error', async () => {
    const failure = new Error('business rule');
    const failuresBefore = host.stats().hookFailures;
    await expect(
      orders.place(
        1,
        () =>
          host.afterRollback(() => {
            throw new Error('hook broke');
          }),
        failure,
      ),
    ).rejects.toBe(failure);
    expect(host.stats().hookFailures).toBe(failuresBefore + 1);
  });

  it('hooks registered by a joined scope run when the owner commits, and not if it rolls back', async () => {
    const events: string[] = [];
    await orders.place(1, async () => {
      await orders.note(() => void events.push('inner hook'));
      events.push('inner returned');
    });
    expect(events).toEqual(['inner returned', 'inner hook']);

    events.length = 0;
    await expect(
      orders.place(
        2,
        () => orders.note(() => void events.push('inner hook')),
        new Error('owner fails'),
      ),
    ).rejects.toThrow('owner fails');
    expect(events).toEqual([]);
  });

  it('drops the hooks of an attempt rerun after a conflict: only committed attempts run theirs', async () => {
    await db.execute('DELETE FROM counters');
    await db.execute('INSERT INTO counters VALUES (1, 0)');
    orders.attempts = 0;
    const hooks = { afterCommit: 0, afterRollback: 0 };
    const arrive = barrier(2);
    const increment = () =>
      orders.increment(
        arrive,
        () => hooks.afterCommit++,
        () => hooks.afterRollback++,
      );
    await Promise.all([increment(), increment()]);
    expect(orders.attempts).toBe(3);
    // Three attempts registered hooks; the conflicted one's were dropped with it.
    expect(hooks).toEqual({ afterCommit: 2, afterRollback: 0 });
    await expect(db.queryOne('SELECT v FROM counters WHERE id = 1')).resolves.toEqual({ v: 2 });
  });

  it('refuses hooks outside a transaction with IllegalTransactionStateError', () => {
    expect(host.isActive()).toBe(false);
    expect(() => host.afterCommit(() => undefined)).toThrow(IllegalTransactionStateError);
    expect(() => host.afterRollback(() => undefined)).toThrow(IllegalTransactionStateError);
    expect(() => host.beforeCommit(() => undefined)).toThrow(IllegalTransactionStateError);
    expect(() => host.setRollbackOnly()).toThrow(IllegalTransactionStateError);
  });

  it('refuses hooks registered after the transaction ended', async () => {
    let late: unknown;
    await orders.place(1, () =>
      host.afterCommit(() => {
        try {
          host.afterCommit(() => undefined);
        } catch (error) {
          late = error;
        }
      }),
    );
    expect(late).toBeInstanceOf(IllegalTransactionStateError);
  });
});
