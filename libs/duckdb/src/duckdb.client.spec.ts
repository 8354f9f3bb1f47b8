import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbClient } from './duckdb.client';
// The transaction engine is @lib/transactions'; the client's transaction routing is tested with it.
import { TransactionManager } from '@lib/transactions';
import { transactionStorage } from './duckdb.context';
import { DuckDbDatabase } from './duckdb.database';
import {
  ConstraintViolationError,
  IllegalTransactionStateError,
  QueryFailedError,
  QuerySyntaxError,
  QueryTimeoutError,
  ReadOnlyTransactionError,
  TransactionClosedError,
  TransactionConflictError,
  UnexpectedRollbackError,
} from './duckdb.errors';
import type { DuckDbModuleOptions } from './duckdb.interfaces';
import { resolveDuckDbOptions } from './duckdb.options';
import { DuckDbPool } from './pool/duckdb-pool';
import { type InFlightProbe, probeInFlight } from './testing/in-flight.spec-helper';
import { sleep, barrier, settle } from '@lib/common/testing';

interface Opened {
  db: DuckDbDatabase;
  pool: DuckDbPool;
  client: DuckDbClient;
}

let dir: string;
let counter = 0;
const opened: Opened[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'duckdb-client-spec-'));
});

afterAll(async () => {
  for (const { db, pool } of opened.splice(0)) {
    await Promise.race([pool.drain(), sleep(1000)]);
    db.instance.closeSync();
  }
  rmSync(dir, { recursive: true, force: true });
});

async function openClient(settings: Omit<DuckDbModuleOptions, 'path'> = {}): Promise<Opened> {
  const options = resolveDuckDbOptions({
    ...settings,
    path: join(dir, `client-${++counter}.duckdb`),
  });
  const db = await DuckDbDatabase.open(options);
  const pool = new DuckDbPool(db.instance, {
    ...options.pool,
    queryTimeoutMs: options.queryTimeoutMs,
    statementCacheSize: options.statementCacheSize,
  });
  await pool.start();
  const result = { db, pool, client: new DuckDbClient(pool, new TransactionManager(pool)) };
  opened.push(result);
  return result;
}

describe('DuckDbClient', () => {
  describe('query, queryOne, execute', () => {
    let client: DuckDbClient;

    beforeAll(async () => {
      ({ client } = await openClient());
      await client.execute(
        'CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, score DOUBLE, active BOOLEAN)',
      );
    });

    it('execute reports the rows it changed', async () => {
      await expect(
        client.execute('INSERT INTO people VALUES ($1, $2, $3, $4)', [1, 'ada', 9.5, true]),
      ).resolves.toEqual({ rowsChanged: 1 });
      await expect(
        client.execute(
          `INSERT INTO people VALUES (2, 'bob', 7.25, false), (3, 'cy', NULL, true), (4, 'di', 1, NULL)`,
        ),
      ).resolves.toEqual({ rowsChanged: 3 });
      await expect(
        client.execute('UPDATE people SET score = coalesce(score, 0) + 1 WHERE id >= $1', [2]),
      ).resolves.toEqual({ rowsChanged: 3 });
      await expect(client.execute('UPDATE people SET score = 0 WHERE id = 99')).resolves.toEqual({
        rowsChanged: 0,
      });
    });

    it('query returns plain row objects', async () => {
      const rows = await client.query('SELECT id, name, score, active FROM people ORDER BY id');
      expect(rows).toEqual([
        { id: 1, name: 'ada', score: 9.5, active: true },
        { id: 2, name: 'bob', score: 8.25, active: false },
        { id: 3, name: 'cy', score: 1, active: true },
        { id: 4, name: 'di', score: 2, active: null },
      ]);
      expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
      expect(JSON.parse(JSON.stringify(rows))).toEqual(rows);
    });

    it('keeps columns named like Object.prototype members as data', async () => {
      const row = await client.queryOne<Record<string, unknown>>(
        `SELECT 1 AS "__proto__", 'x' AS "constructor", 2 AS "toString", '{"__proto__":3}'::JSON AS j`,
      );
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
      expect(Object.keys(row ?? {})).toEqual(['__proto__', 'constructor', 'toString', 'j']);
      expect(JSON.stringify(row)).toBe(
        '{"__proto__":1,"constructor":"x","toString":2,"j":{"__proto__":3}}',
      );
    });

    it('queryOne returns the first row or undefined', async () => {
      await expect(
        client.queryOne<{ name: string }>('SELECT name FROM people WHERE id > $1 ORDER BY id', [1]),
      ).resolves.toEqual({ name: 'bob' });
      await expect(
        client.queryOne('SELECT name FROM people WHERE id = $1', [404]),
      ).resolves.toBeUndefined();
    });

    it('binds positional parameters by number, in any order and repeated', async () => {
      await expect(
        client.queryOne(
          'SELECT $2::VARCHAR AS second, $1::INTEGER AS first, $2::VARCHAR AS again',
          [7, 'x'],
        ),
      ).resolves.toEqual({ second: 'x', first: 7, again: 'x' });
      await expect(
        client.query('SELECT id FROM people WHERE id = $1 OR id = $2 OR name = $3 ORDER BY id', [
          1,
          3,
          'di',
        ]),
      ).resolves.toEqual([{ id: 1 }, { id: 3 }, { id: 4 }]);
      await expect(
        client.queryOne('SELECT $1::VARCHAR IS NULL AS missing', [null]),
      ).resolves.toEqual({ missing: true });
    });

    it('rejects a wrong number of parameters', async () => {
      await expect(
        client.query('SELECT $1::INTEGER AS a, $2::INTEGER AS b', [1]),
      ).rejects.toThrow();
      await expect(client.query('SELECT 1 AS one', [1])).rejects.toThrow();
      // The statement cache keeps working for the next caller.
      await expect(client.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
    });

    it('stores strings holding SQL fragments verbatim', async () => {
      await client.execute('CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR)');
      const bodies = [
        `'; DROP TABLE notes; --`,
        `Robert'); DROP TABLE people;--`,
        `" OR 1=1 --`,
        '$1 $2 ? :name',
        `back\\slash and 'quotes' and "doubles"`,
        'ünïcødé — 日本語 🦆',
        '',
      ];
      for (const [i, body] of bodies.entries()) {
        await client.execute('INSERT INTO notes VALUES ($1, $2)', [i, body]);
      }
      const rows = await client.query<{ body: string }>('SELECT body FROM notes ORDER BY id');
      expect(rows.map((r) => r.body)).toEqual(bodies);
      await expect(
        client.queryOne('SELECT id FROM notes WHERE body = $1', [bodies[0]]),
      ).resolves.toEqual({ id: 0 });
      await expect(client.queryOne('SELECT count(*) AS n FROM people')).resolves.toEqual({ n: 4 });
    });
  });

  describe('prepared statements reused after the data changed', () => {
    it('read and delete the rows added since they were prepared', async () => {
      // One connection, so every call reuses the statement it cached while the table was empty
      // or every value was 1: DuckDB 1.5 plans constants against the statistics of that moment
      // unless STALE_PLAN_OPTIMIZERS are off (then this DELETE removed nothing, the count stayed
      // 0 and 1000 was read as 232).
      const { client } = await openClient({ pool: { min: 1, max: 1 } });
      await client.execute('CREATE TABLE slots (k VARCHAR NOT NULL, pr INTEGER, slot INTEGER)');
      const above = 'SELECT count(*) AS n FROM slots WHERE pr > 5';
      const ordered = `SELECT slot FROM slots WHERE k = 'a' ORDER BY slot`;
      const clear = `DELETE FROM slots WHERE k = 'a'`;
      await expect(client.execute(clear)).resolves.toEqual({ rowsChanged: 0 });
      await client.execute(`INSERT INTO slots VALUES ('a', 1, 1)`);
      await expect(client.queryOne(above)).resolves.toEqual({ n: 0 });
      await expect(client.query(ordered)).resolves.toEqual([{ slot: 1 }]);

      await client.execute(`INSERT INTO slots VALUES ('a', 900, 1000), ('a', 2, 232)`);
      await expect(client.queryOne(above)).resolves.toEqual({ n: 1 });
      await expect(client.query(ordered)).resolves.toEqual([
        { slot: 1 },
        { slot: 232 },
        { slot: 1000 },
      ]);
      await expect(client.execute(clear)).resolves.toEqual({ rowsChanged: 3 });
    });
  });

  describe('JSON-safe values', () => {
    let client: DuckDbClient;

    beforeAll(async () => {
      ({ client } = await openClient());
    });

    it('returns BIGINT as a number while it is exact, as a string past 2^53', async () => {
      await client.execute('CREATE TABLE big (id INTEGER, n BIGINT)');
      await client.execute('INSERT INTO big VALUES (1, $1), (2, $2), (3, $3), (4, $4), (5, 42)', [
        2n ** 53n - 1n,
        2n ** 53n + 1n,
        -(2n ** 53n) - 1n,
        9223372036854775807n,
      ]);
      const rows = await client.query('SELECT id, n FROM big ORDER BY id');
      expect(rows).toEqual([
        { id: 1, n: 9007199254740991 },
        { id: 2, n: '9007199254740993' },
        { id: 3, n: '-9007199254740993' },
        { id: 4, n: '9223372036854775807' },
        { id: 5, n: 42 },
      ]);
      await expect(client.queryOne('SELECT count(*) AS c FROM big')).resolves.toEqual({ c: 5 });
      expect(() => JSON.stringify(rows)).not.toThrow();
    });

    it('returns HUGEINT and UBIGINT past 2^53 as decimal strings', async () => {
      const row = await client.queryOne(
        `SELECT 170141183460469231731687303715884105727::HUGEINT AS huge,
                (-170141183460469231731687303715884105727)::HUGEINT AS negative,
                18446744073709551615::UBIGINT AS ubig,
                12::HUGEINT AS small`,
      );
      expect(row).toEqual({
        huge: '170141183460469231731687303715884105727',
        negative: '-170141183460469231731687303715884105727',
        ubig: '18446744073709551615',
        small: 12,
      });
      // sum() of integers is a HUGEINT.
      await expect(client.queryOne('SELECT sum(i) AS s FROM range(4) r(i)')).resolves.toEqual({
        s: 6,
      });
      expect(() => JSON.stringify(row)).not.toThrow();
    });

    it('returns TIMESTAMP as an ISO-8601 string and binds Date parameters', async () => {
      await client.execute('CREATE TABLE events (id INTEGER, happened TIMESTAMP)');
      await client.execute(`INSERT INTO events VALUES (1, TIMESTAMP '2024-01-02 03:04:05.678')`);
      const when = new Date('2025-06-07T08:09:10.123Z');
      await client.execute('INSERT INTO events VALUES (2, $1)', [when]);
      await expect(client.query('SELECT id, happened FROM events ORDER BY id')).resolves.toEqual([
        { id: 1, happened: '2024-01-02T03:04:05.678Z' },
        { id: 2, happened: when.toISOString() },
      ]);
      await expect(
        client.queryOne('SELECT id FROM events WHERE happened = $1', [when]),
      ).resolves.toEqual({ id: 2 });
    });

    it('parses JSON columns', async () => {
      await client.execute('CREATE TABLE docs (id INTEGER, doc JSON)');
      const doc = { name: 'gpt', tags: ['a', 'b'], nested: { n: 1.5, ok: true, none: null } };
      await client.execute('INSERT INTO docs VALUES (1, $1), (2, $2)', [
        JSON.stringify(doc),
        '[1, 2, 3]',
      ]);
      await client.execute(`INSERT INTO docs VALUES (3, NULL)`);
      await expect(client.query('SELECT id, doc FROM docs ORDER BY id')).resolves.toEqual([
        { id: 1, doc },
        { id: 2, doc: [1, 2, 3] },
        { id: 3, doc: null },
      ]);
    });

    // Only top-level BIGINT/HUGEINT values used to be converted: inside a LIST or STRUCT the
    // driver's bigints came back as is, and JSON.stringify threw on them.
    it('converts BIGINTs nested in LIST and STRUCT values too', async () => {
      const row = await client.queryOne(
        `SELECT [1::BIGINT, 2::BIGINT] AS list, {'n': 3::BIGINT, 'label': 'x'} AS struct`,
      );
      expect(() => JSON.stringify(row)).not.toThrow();
      expect(row).toEqual({ list: [1, 2], struct: { n: 3, label: 'x' } });
    });
  });

  describe('errors', () => {
    let client: DuckDbClient;

    beforeAll(async () => {
      ({ client } = await openClient());
      await client.execute('CREATE TABLE parents (id INTEGER PRIMARY KEY)');
      await client.execute(
        `CREATE TABLE kids (
           id INTEGER PRIMARY KEY,
           name VARCHAR NOT NULL,
           age INTEGER CHECK (age >= 0),
           parent INTEGER REFERENCES parents (id)
         )`,
      );
      await client.execute('INSERT INTO parents VALUES (1)');
      await client.execute(`INSERT INTO kids VALUES (1, 'kim', 3, 1)`);
    });

    it('reports a duplicate primary key as a unique ConstraintViolationError', async () => {
      const sql = 'INSERT INTO kids VALUES ($1, $2, $3, $4)';
      const { error } = await settle(client.execute(sql, [1, 'secret-name', 4, 1]));
      expect(error).toBeInstanceOf(ConstraintViolationError);
      const violation = error as ConstraintViolationError;
      expect(violation.kind).toBe('unique');
      expect(violation.transient).toBe(false);
      expect(violation.context).toEqual({ operation: 'execute', sql, paramCount: 4 });
      expect(violation.message).not.toContain('INSERT');
      expect(violation.message).not.toContain('secret-name');
      expect(String((violation.cause as Error).message)).toMatch(/Duplicate key/);
    });

    it('reports NOT NULL, CHECK and FOREIGN KEY violations by kind', async () => {
      const insert = 'INSERT INTO kids VALUES ($1, $2, $3, $4)';
      const kind = async (params: (string | number | null)[]) => {
        const { error } = await settle(client.execute(insert, params));
        expect(error).toBeInstanceOf(ConstraintViolationError);
        return (error as ConstraintViolationError).kind;
      };
      await expect(kind([2, null, 1, 1])).resolves.toBe('not_null');
      await expect(kind([3, 'neg', -1, 1])).resolves.toBe('check');
      await expect(kind([4, 'orphan', 1, 99])).resolves.toBe('foreign_key');
      await expect(client.queryOne('SELECT count(*) AS n FROM kids')).resolves.toEqual({ n: 1 });
    });

    it('reports invalid SQL as QuerySyntaxError', async () => {
      await expect(client.query('SELEC 1')).rejects.toBeInstanceOf(QuerySyntaxError);
      await expect(client.query('SELECT * FROM no_such_table')).rejects.toBeInstanceOf(
        QuerySyntaxError,
      );
      await expect(client.query('SELECT no_such_column FROM kids')).rejects.toBeInstanceOf(
        QuerySyntaxError,
      );
    });

    it('reports other failures as QueryFailedError', async () => {
      const { error } = await settle(client.query(`SELECT 'abc'::INTEGER AS n`));
      expect(error).toBeInstanceOf(QueryFailedError);
      expect((error as QueryFailedError).context).toMatchObject({ operation: 'query' });
    });
  });

  describe('query timeout', () => {
    it('interrupts a long statement with QueryTimeoutError and keeps the connection usable', async () => {
      const { client, pool } = await openClient({ queryTimeoutMs: 100, pool: { min: 1, max: 1 } });
      const started = performance.now();
      const { error } = await settle(client.query('SELECT count(*) AS n FROM range(10000000000)'));
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(QueryTimeoutError);
      expect((error as QueryTimeoutError).timeoutMs).toBe(100);
      expect((error as QueryTimeoutError).transient).toBe(true);
      expect(elapsed).toBeGreaterThanOrEqual(90);
      expect(elapsed).toBeLessThan(3000);
      // The one connection of the pool still answers.
      await expect(client.queryOne('SELECT 1 AS one')).resolves.toEqual({ one: 1 });
      expect(pool.stats()).toMatchObject({ size: 1, created: 1, idle: 1 });
    });
  });

  describe('broken connections', () => {
    // Driver errors come from Node's realm, not Jest's: a check that relies on `instanceof Error`
    // never flags the connection broken, and the retry gets the same dead connection.
    it('reruns a read on a fresh connection when its connection turns out to be closed', async () => {
      const { client, pool } = await openClient({ pool: { min: 1, max: 1 } });
      const connection = await pool.acquire();
      connection.raw.closeSync();
      pool.release(connection);
      await expect(client.query('SELECT 5 AS v')).resolves.toEqual([{ v: 5 }]);
      expect(pool.stats()).toMatchObject({ size: 1, created: 2 });
    });
  });

  describe('transactions', () => {
    let client: DuckDbClient;

    beforeAll(async () => {
      ({ client } = await openClient({ pool: { min: 2, max: 4 } }));
      await client.execute('CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)');
    });

    beforeEach(async () => {
      await client.execute('DELETE FROM accounts');
    });

    const count = async (): Promise<number> =>
      (
        (await client.queryOne<{ n: number }>('SELECT count(*) AS n FROM accounts')) as {
          n: number;
        }
      ).n;

    it('commits when the callback resolves and returns its value', async () => {
      const result = await client.transaction(async () => {
        expect(client.isInTransaction()).toBe(true);
        await client.execute('INSERT INTO accounts VALUES (1, 100), (2, 50)');
        await client.execute('UPDATE accounts SET balance = balance - 30 WHERE id = 1');
        await client.execute('UPDATE accounts SET balance = balance + 30 WHERE id = 2');
        return 'done';
      });
      expect(result).toBe('done');
      expect(client.isInTransaction()).toBe(false);
      await expect(client.query('SELECT id, balance FROM accounts ORDER BY id')).resolves.toEqual([
        { id: 1, balance: 70 },
        { id: 2, balance: 80 },
      ]);
    });

    it('isolates uncommitted writes from other connections', async () => {
      await client.transaction(async () => {
        await client.execute('INSERT INTO accounts VALUES (1, 1)');
        await expect(count()).resolves.toBe(1);
        const outside = await transactionStorage.exit(() => count());
        expect(outside).toBe(0);
      });
      await expect(count()).resolves.toBe(1);
    });

    it('rolls back and rethrows when the callback throws', async () => {
      const failure = new Error('business rule');
      await expect(
        client.transaction(async () => {
          await client.execute('INSERT INTO accounts VALUES (1, 100)');
          throw failure;
        }),
      ).rejects.toBe(failure);
      await expect(count()).resolves.toBe(0);
    });

    it('throws UnexpectedRollbackError and stores nothing when a caught statement failed', async () => {
      const { error } = await settle(
        client.transaction(async () => {
          await client.execute('INSERT INTO accounts VALUES (1, 100)');
          try {
            await client.execute('INSERT INTO accounts VALUES (1, 200)');
          } catch {
            // Swallowed by the caller: the transaction is doomed anyway.
          }
          await client.execute('INSERT INTO accounts VALUES (2, 300)').catch(() => undefined);
          return 'looks fine';
        }),
      );
      expect(error).toBeInstanceOf(UnexpectedRollbackError);
      expect((error as UnexpectedRollbackError).cause).toBeInstanceOf(ConstraintViolationError);
      await expect(count()).resolves.toBe(0);
    });

    it('reports a failed statement inside a transaction as what it is, without losing the connection', async () => {
      const { client: own, pool } = await openClient({ pool: { min: 1, max: 1 } });
      await own.execute('CREATE TABLE t (n INTEGER)');
      const created = pool.stats().created;
      let caught: unknown;
      const { error } = await settle(
        own.transaction(async () => {
          await own.execute('INSERT INTO t VALUES (1)');
          caught = await own.query(`SELECT 'abc'::INTEGER AS n`).then(
            () => undefined,
            (e: unknown) => e,
          );
        }),
      );
      expect(caught).toBeInstanceOf(QueryFailedError);
      expect(error).toBeInstanceOf(UnexpectedRollbackError);
      expect((error as UnexpectedRollbackError).cause).toBe(caught);
      await expect(own.queryOne('SELECT count(*) AS n FROM t')).resolves.toEqual({ n: 0 });
      // An aborted transaction is not a broken connection: nothing was closed or reopened.
      expect(pool.stats()).toMatchObject({ created, size: 1 });
    });

    // The verdict (commit or roll back) must wait for statements still queued on the connection:
    // one that fails after it would doom the transaction, and DuckDB would then report a
    // successful COMMIT that stored nothing.
    it('never reports success when a statement still in flight at the end fails', async () => {
      const outcome = await settle(
        client.transaction(async () => {
          await client.execute('INSERT INTO accounts VALUES (1, 100)');
          // Not awaited: still queued on the connection when the callback returns.
          void client.execute('INSERT INTO accounts VALUES (1, 200)').catch(() => undefined);
        }),
      );
      const stored = await count();
      const label =
        outcome.error === undefined ? 'committed' : (outcome.error as Error).constructor.name;
      expect(['committed:1', 'UnexpectedRollbackError:0']).toContain(`${label}:${stored}`);
    });

    it('rejects a write inside a read-only transaction', async () => {
      await client.execute('INSERT INTO accounts VALUES (1, 100)');
      await expect(
        client.transaction(
          async () => {
            await expect(count()).resolves.toBe(1);
            await client.execute('UPDATE accounts SET balance = 0 WHERE id = 1');
          },
          { readOnly: true },
        ),
      ).rejects.toBeInstanceOf(ReadOnlyTransactionError);
      await expect(
        client.transaction(
          async () => {
            await client.execute('INSERT INTO accounts VALUES (2, 1)').catch(() => undefined);
          },
          { readOnly: true },
        ),
      ).rejects.toBeInstanceOf(UnexpectedRollbackError);
      await expect(client.query('SELECT id, balance FROM accounts')).resolves.toEqual([
        { id: 1, balance: 100 },
      ]);
      await expect(
        client.transaction(() => client.queryOne('SELECT balance FROM accounts'), {
          readOnly: true,
        }),
      ).resolves.toEqual({ balance: 100 });
    });

    it('joins an outer transaction instead of starting a new one', async () => {
      await expect(
        client.transaction(async () => {
          await client.execute('INSERT INTO accounts VALUES (1, 100)');
          const inner = await client.transaction(async () => {
            expect(client.isInTransaction()).toBe(true);
            await client.execute('INSERT INTO accounts VALUES (2, 200)');
            return count();
          });
          // The inner call saw the outer's uncommitted row: same connection, same transaction.
          expect(inner).toBe(2);
          // Nothing is committed yet, even though the inner call returned.
          await expect(transactionStorage.exit(() => count())).resolves.toBe(0);
          throw new Error('undo both');
        }),
      ).rejects.toThrow('undo both');
      await expect(count()).resolves.toBe(0);
    });

    it('dooms the outer transaction when a joined inner call fails, even if the error is caught', async () => {
      const { error } = await settle(
        client.transaction(async () => {
          await client.execute('INSERT INTO accounts VALUES (1, 100)');
          await client
            .transaction(async () => {
              await client.execute('INSERT INTO accounts VALUES (2, 200)');
              throw new Error('inner failed');
            })
            .catch(() => undefined);
          return 'outer carries on';
        }),
      );
      expect(error).toBeInstanceOf(UnexpectedRollbackError);
      await expect(count()).resolves.toBe(0);
    });

    it('lets a read-only call join a read-write transaction, but not the reverse', async () => {
      await client.transaction(async () => {
        await client.execute('INSERT INTO accounts VALUES (1, 1)');
        await expect(client.transaction(() => count(), { readOnly: true })).resolves.toBe(1);
      });
      await expect(
        client.transaction(() => client.transaction(() => count()), { readOnly: true }),
      ).rejects.toBeInstanceOf(IllegalTransactionStateError);
    });

    it('refuses work that outlives its transaction with TransactionClosedError', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let stray: Promise<unknown> | undefined;
      await client.transaction(async () => {
        stray = gate.then(() => client.execute('INSERT INTO accounts VALUES (9, 9)'));
        await client.execute('INSERT INTO accounts VALUES (1, 1)');
      });
      release();
      await expect(stray).rejects.toBeInstanceOf(TransactionClosedError);
      await expect(client.query('SELECT id FROM accounts')).resolves.toEqual([{ id: 1 }]);
    });

    it('does not retry errors other than conflicts', async () => {
      let attempts = 0;
      await expect(
        client.transaction(
          async () => {
            attempts++;
            throw new Error('not a conflict');
          },
          { retries: 3 },
        ),
      ).rejects.toThrow('not a conflict');
      expect(attempts).toBe(1);
    });
  });

  describe('write-write conflicts', () => {
    let client: DuckDbClient;

    beforeAll(async () => {
      ({ client } = await openClient({ pool: { min: 2, max: 4 } }));
      await client.execute('CREATE TABLE counters (id INTEGER PRIMARY KEY, v INTEGER)');
    });

    beforeEach(async () => {
      await client.execute('DELETE FROM counters');
      await client.execute('INSERT INTO counters VALUES (1, 0)');
    });

    const value = async (): Promise<unknown> =>
      (await client.queryOne<{ v: number }>('SELECT v FROM counters WHERE id = 1'))?.v;

    function increment(arrive: () => Promise<void>, retries: number, attempts: number[]) {
      return client.transaction(
        async () => {
          attempts.push(1);
          await client.query('SELECT v FROM counters WHERE id = 1');
          await arrive();
          await client.execute('UPDATE counters SET v = v + 1 WHERE id = 1');
        },
        { retries },
      );
    }

    it('fails one of two overlapping updates with TransactionConflictError when retries is 0', async () => {
      const arrive = barrier(2);
      const attempts: number[] = [];
      const results = await Promise.all([
        settle(increment(arrive, 0, attempts)),
        settle(increment(arrive, 0, attempts)),
      ]);
      const errors = results.map((r) => r.error).filter((e) => e !== undefined);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(TransactionConflictError);
      expect((errors[0] as TransactionConflictError).transient).toBe(true);
      expect(attempts).toHaveLength(2);
      await expect(value()).resolves.toBe(1);
    });

    it('reruns the loser with retries, so both increments land', async () => {
      const arrive = barrier(2);
      const attempts: number[] = [];
      const results = await Promise.all([
        settle(increment(arrive, 5, attempts)),
        settle(increment(arrive, 5, attempts)),
      ]);
      expect(results.map((r) => r.error)).toEqual([undefined, undefined]);
      expect(attempts).toHaveLength(3);
      await expect(value()).resolves.toBe(2);
    });

    it('still reports the conflict when the callback swallowed it', async () => {
      const arrive = barrier(2);
      const swallowing = (retries: number) =>
        client.transaction(
          async () => {
            await client.query('SELECT v FROM counters WHERE id = 1');
            await arrive();
            await client
              .execute('UPDATE counters SET v = v + 1 WHERE id = 1')
              .catch(() => undefined);
          },
          { retries },
        );
      const results = await Promise.all([settle(swallowing(0)), settle(swallowing(0))]);
      const errors = results.map((r) => r.error).filter((e) => e !== undefined);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(TransactionConflictError);
      await expect(value()).resolves.toBe(1);
    });
  });

  describe('one statement per connection', () => {
    const ROWS = 300;
    let client: DuckDbClient;
    let probes: InFlightProbe[];

    beforeAll(async () => {
      let pool: DuckDbPool;
      ({ client, pool } = await openClient({
        pool: { min: 4, max: 4, acquireTimeoutMs: 10_000 },
      }));
      const connections = await Promise.all([1, 2, 3, 4].map(() => pool.acquire()));
      expect(new Set(connections.map((c) => c.id)).size).toBe(4);
      probes = connections.map((c) => probeInFlight(c.raw));
      for (const c of connections) pool.release(c);
      await client.execute('CREATE TABLE items (id INTEGER PRIMARY KEY, value VARCHAR)');
      await client.execute(
        `INSERT INTO items SELECT i, 'value-' || i FROM range(1, ${ROWS + 1}) r(i)`,
      );
    });

    beforeEach(() => {
      for (const probe of probes) {
        probe.max = 0;
        probe.started = 0;
        probe.bindsDuringStatement = 0;
      }
    });

    const ids = Array.from({ length: ROWS }, (_, i) => i + 1);
    const read = (id: number) =>
      client.queryOne<{ id: number; value: string }>('SELECT id, value FROM items WHERE id = $1', [
        id,
      ]);

    it('returns the right row to each of 300 concurrent reads through the pool', async () => {
      const rows = await Promise.all(ids.map(read));
      rows.forEach((row, i) => expect(row).toEqual({ id: ids[i], value: `value-${ids[i]}` }));
      expect(probes.reduce((sum, p) => sum + p.started, 0)).toBeGreaterThanOrEqual(ROWS);
      // The reads really ran on several connections, yet never two at once on one.
      expect(probes.filter((p) => p.started > 0).length).toBeGreaterThan(1);
      expect(Math.max(...probes.map((p) => p.max))).toBe(1);
      expect(probes.reduce((sum, p) => sum + p.bindsDuringStatement, 0)).toBe(0);
    });

    it('returns the right row to each of 300 concurrent reads inside one transaction', async () => {
      const rows = await client.transaction(() => Promise.all(ids.map(read)));
      rows.forEach((row, i) => expect(row).toEqual({ id: ids[i], value: `value-${ids[i]}` }));
      const used = probes.filter((p) => p.started > 0);
      expect(used).toHaveLength(1);
      expect(used[0].started).toBeGreaterThanOrEqual(ROWS);
      expect(used[0].max).toBe(1);
      expect(used[0].bindsDuringStatement).toBe(0);
    });

    it('applies concurrent writes inside one transaction one at a time', async () => {
      await client.execute('CREATE TABLE copies (id INTEGER PRIMARY KEY, value VARCHAR)');
      await client.transaction(() =>
        Promise.all(
          ids.map((id) => client.execute('INSERT INTO copies VALUES ($1, $2)', [id, `copy-${id}`])),
        ),
      );
      const rows = await client.query<{ id: number; value: string }>(
        'SELECT id, value FROM copies ORDER BY id',
      );
      expect(rows).toEqual(ids.map((id) => ({ id, value: `copy-${id}` })));
      expect(Math.max(...probes.map((p) => p.max))).toBe(1);
    });
  });
});
