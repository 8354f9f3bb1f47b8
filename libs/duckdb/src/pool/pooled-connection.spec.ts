import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  ConstraintViolationError,
  DatabaseUnavailableError,
  QueryTimeoutError,
} from '../duckdb.errors';
import { probeInFlight } from '../testing/in-flight.spec-helper';
import { PooledConnection } from './pooled-connection';

const ctx = { operation: 'spec' };

let dir: string;
let instance: DuckDBInstance;
const connections: PooledConnection[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'duckdb-pooled-connection-spec-'));
  instance = await DuckDBInstance.create(join(dir, 'connection.duckdb'));
  const setup = await instance.connect();
  await setup.run('CREATE TABLE items (id INTEGER PRIMARY KEY, value VARCHAR NOT NULL)');
  await setup.run(`INSERT INTO items SELECT i, 'value-' || i FROM range(1, 301) r(i)`);
  setup.closeSync();
});

afterEach(() => {
  for (const connection of connections.splice(0)) connection.close();
});

afterAll(() => {
  instance.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(
  options: { queryTimeoutMs?: number; statementCacheSize?: number } = {},
): Promise<PooledConnection> {
  const connection = new PooledConnection(connections.length + 1, await instance.connect(), {
    queryTimeoutMs: options.queryTimeoutMs ?? 0,
    statementCacheSize: options.statementCacheSize ?? 16,
  });
  connections.push(connection);
  return connection;
}

function countPrepares(raw: DuckDBConnection): string[] {
  const prepared: string[] = [];
  const prepare = raw.prepare.bind(raw);
  raw.prepare = (sql: string) => {
    prepared.push(sql);
    return prepare(sql);
  };
  return prepared;
}

describe('PooledConnection', () => {
  it('returns rows, change counts, or nothing depending on the mode', async () => {
    const connection = await connect();
    await expect(
      connection.run('SELECT id, value FROM items WHERE id = $1', [7], 'rows', ctx),
    ).resolves.toEqual([{ id: 7, value: 'value-7' }]);
    await connection.run('CREATE TEMP TABLE scratch (n INTEGER)', [], 'script', ctx);
    await expect(
      connection.run('INSERT INTO scratch SELECT * FROM range(5)', [], 'execute', ctx),
    ).resolves.toBe(5);
    await expect(
      connection.run('UPDATE scratch SET n = n + 1 WHERE n >= $1', [3], 'execute', ctx),
    ).resolves.toBe(2);
    await expect(
      connection.run('SELECT count(*) AS n FROM scratch', [], 'script', ctx),
    ).resolves.toBeUndefined();
  });

  it('runs concurrently submitted statements one at a time, each with its own bindings', async () => {
    const connection = await connect();
    const probe = probeInFlight(connection.raw);
    const ids = Array.from({ length: 300 }, (_, i) => 300 - i);
    const results = await Promise.all(
      ids.map((id) =>
        connection.run('SELECT id, value FROM items WHERE id = $1', [id], 'rows', ctx),
      ),
    );
    results.forEach((rows, i) => {
      expect(rows).toEqual([{ id: ids[i], value: `value-${ids[i]}` }]);
    });
    expect(probe.started).toBeGreaterThanOrEqual(300);
    expect(probe.max).toBe(1);
    expect(probe.bindsDuringStatement).toBe(0);
    // One prepared statement served all of them.
    expect(connection.cachedStatements).toBe(1);
  });

  it('has a probe that does see overlapping statements when the queue is bypassed', async () => {
    const connection = await connect();
    const probe = probeInFlight(connection.raw);
    await Promise.all(Array.from({ length: 8 }, (_, i) => connection.raw.run(`SELECT ${i} AS v`)));
    expect(probe.max).toBeGreaterThan(1);
  });

  it('keeps mixed statement kinds in submission order', async () => {
    const connection = await connect();
    const probe = probeInFlight(connection.raw);
    await connection.run('CREATE TEMP TABLE log (n INTEGER)', [], 'script', ctx);
    const writes = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0
        ? connection.run('INSERT INTO log VALUES ($1)', [i], 'execute', ctx)
        : connection.run(`INSERT INTO log VALUES (${i})`, [], 'script', ctx),
    );
    const count = connection.run('SELECT count(*) AS n FROM log', [], 'rows', ctx);
    await Promise.all(writes);
    await expect(count).resolves.toEqual([{ n: 20 }]);
    expect(probe.max).toBe(1);
  });

  it('keeps serving after a statement fails', async () => {
    const connection = await connect();
    const failing = connection.run(
      'INSERT INTO items VALUES ($1, $2)',
      [1, 'duplicate'],
      'execute',
      ctx,
    );
    const next = connection.run('SELECT value FROM items WHERE id = $1', [1], 'rows', ctx);
    await expect(failing).rejects.toBeInstanceOf(ConstraintViolationError);
    await expect(next).resolves.toEqual([{ value: 'value-1' }]);
    expect(connection.broken).toBe(false);
  });

  it('caches prepared statements and evicts the least recently used', async () => {
    const connection = await connect({ statementCacheSize: 2 });
    const prepared = countPrepares(connection.raw);
    const a = 'SELECT 1 AS a';
    const b = 'SELECT 2 AS b';
    const c = 'SELECT 3 AS c';
    await connection.run(a, [], 'rows', ctx);
    await connection.run(b, [], 'rows', ctx);
    await connection.run(a, [], 'rows', ctx); // a is now the most recently used
    await connection.run(c, [], 'rows', ctx); // evicts b
    expect(connection.cachedStatements).toBe(2);
    expect(prepared).toEqual([a, b, c]);

    await expect(connection.run(a, [], 'rows', ctx)).resolves.toEqual([{ a: 1 }]);
    expect(prepared).toEqual([a, b, c]);
    await expect(connection.run(b, [], 'rows', ctx)).resolves.toEqual([{ b: 2 }]);
    expect(prepared).toEqual([a, b, c, b]);
    expect(connection.cachedStatements).toBe(2);
  });

  it('clears bindings left by an earlier call before reusing a statement', async () => {
    const connection = await connect();
    const sql = 'SELECT count(*) AS n FROM items WHERE id > 0';
    await connection.run(sql, [], 'rows', ctx);
    await expect(connection.run(sql, [], 'rows', ctx)).resolves.toEqual([{ n: 300 }]);
    await expect(
      connection.run('SELECT $1::INTEGER + $2::INTEGER AS s', [2, 3], 'rows', ctx),
    ).resolves.toEqual([{ s: 5 }]);
    await expect(
      connection.run('SELECT $1::INTEGER + $2::INTEGER AS s', [10, 20], 'rows', ctx),
    ).resolves.toEqual([{ s: 30 }]);
  });

  it('interrupts a statement past queryTimeoutMs and stays usable', async () => {
    const connection = await connect({ queryTimeoutMs: 100 });
    const context = { operation: 'slow', sql: 'SELECT count(*) FROM range(10000000000)' };
    const started = performance.now();
    const error = await connection.run(context.sql, [], 'rows', context).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(QueryTimeoutError);
    expect((error as QueryTimeoutError).timeoutMs).toBe(100);
    expect((error as QueryTimeoutError).context).toBe(context);
    expect((error as Error).message).not.toContain('range(');
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(3000);
    expect(connection.broken).toBe(false);
    await expect(connection.run('SELECT 1 AS one', [], 'rows', ctx)).resolves.toEqual([{ one: 1 }]);
  });

  it('starts the timeout when a statement runs, not when it is queued', async () => {
    const connection = await connect({ queryTimeoutMs: 250 });
    const sql = 'SELECT count(*) AS n, sum(hash(i)) AS h FROM range($1) r(i)';
    const started = performance.now();
    // Each takes a few ms; together they take far longer than the timeout.
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => connection.run(sql, [1_000_000 + i], 'rows', ctx)),
    );
    const elapsed = performance.now() - started;
    results.forEach((rows, i) => expect(rows[0].n).toBe(1_000_000 + i));
    expect(elapsed).toBeGreaterThan(250);
  });

  it('is unusable after close(), which is idempotent', async () => {
    const connection = await connect();
    await connection.run('SELECT 1 AS one', [], 'rows', ctx);
    connection.close();
    expect(() => connection.close()).not.toThrow();
    expect(connection.cachedStatements).toBe(0);
    expect(() => connection.interrupt()).not.toThrow();
    const error = await connection.run('SELECT 2 AS two', [], 'rows', ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(connection.broken).toBe(true);
  });
});
