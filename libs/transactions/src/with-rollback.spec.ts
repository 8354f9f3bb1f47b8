import { Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { DuckDbClient, transactionStorage } from '@lib/duckdb';
import {
  IllegalTransactionStateError,
  TransactionHost,
  Transactional,
  withRollback,
} from '@lib/transactions';
import { compileWithDuckDb } from './testing';

/** Runs `fn` outside any transaction: what other clients see. */
function outside<T>(fn: () => Promise<T>): Promise<T> {
  return transactionStorage.exit(fn);
}

@Injectable()
class Notes {
  readonly events: string[] = [];

  constructor(
    private readonly db: DuckDbClient,
    private readonly host: TransactionHost,
  ) {}

  @Transactional({ retries: 2 })
  async add(id: number, text: string): Promise<number> {
    await this.db.execute('INSERT INTO notes VALUES ($1, $2)', [id, text]);
    this.host.afterCommit(() => void this.events.push(`committed ${id}`));
    this.host.afterRollback(() => void this.events.push(`rolled back ${id}`));
    return this.count();
  }

  async count(): Promise<number> {
    const row = await this.db.queryOne<{ n: number }>('SELECT count(*) AS n FROM notes');
    return row?.n ?? 0;
  }
}

describe('withRollback', () => {
  let removeFiles: () => void;
  let moduleRef: TestingModule;
  let host: TransactionHost;
  let notes: Notes;
  let db: DuckDbClient;

  beforeAll(async () => {
    ({ moduleRef, removeFiles } = await compileWithDuckDb({ providers: [Notes] }));
    await moduleRef.init();
    host = moduleRef.get(TransactionHost);
    notes = moduleRef.get(Notes);
    db = moduleRef.get(DuckDbClient);
    await db.execute('CREATE TABLE notes (id INTEGER PRIMARY KEY, text VARCHAR)');
    await db.execute(`INSERT INTO notes VALUES (1, 'kept')`);
  });

  afterAll(async () => {
    await moduleRef.close();
    removeFiles();
  });

  beforeEach(() => {
    notes.events.length = 0;
  });

  it('shows the body its own writes and undoes them afterwards', async () => {
    const result = await withRollback(host, async () => {
      expect(host.isActive()).toBe(true);
      await db.execute(`INSERT INTO notes VALUES (2, 'temporary')`);
      await db.execute(`UPDATE notes SET text = 'changed' WHERE id = 1`);
      await expect(notes.count()).resolves.toBe(2);
      // Nobody else sees them meanwhile.
      await expect(outside(() => notes.count())).resolves.toBe(1);
      return 'body result';
    });
    expect(result).toBe('body result');
    await expect(db.query('SELECT id, text FROM notes')).resolves.toEqual([
      { id: 1, text: 'kept' },
    ]);
  });

  it('lets @Transactional methods join it; their after-commit hooks never run, after-rollback ones do', async () => {
    const committedBefore = host.stats().committed;
    await withRollback(host, async () => {
      await expect(notes.add(2, 'via service')).resolves.toBe(2);
      await expect(notes.add(3, 'again')).resolves.toBe(3);
      // The service's scope joined: nothing committed when it returned.
      await expect(outside(() => notes.count())).resolves.toBe(1);
      expect(notes.events).toEqual([]);
    });
    expect(notes.events).toEqual(['rolled back 2', 'rolled back 3']);
    await expect(notes.count()).resolves.toBe(1);
    expect(host.stats().committed).toBe(committedBefore);
  });

  it('rolls back and rethrows when the body fails', async () => {
    const failure = new Error('assertion failed');
    await expect(
      withRollback(host, async () => {
        await notes.add(2, 'doomed');
        throw failure;
      }),
    ).rejects.toBe(failure);
    await expect(notes.count()).resolves.toBe(1);
  });

  it('cannot start inside another transaction', async () => {
    await expect(
      host.run(() => withRollback(host, async () => 'never runs')),
    ).rejects.toBeInstanceOf(IllegalTransactionStateError);
  });
});
