import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { DatabaseExceptionHandler } from '@lib/resilience';
import {
  DuckDbClient,
  DuckDbDatabase,
  CheckViolationError,
  DatabaseIoError,
  DatabaseUnavailableError,
  type DuckDbError,
  ForeignKeyViolationError,
  NotNullViolationError,
  PoolAcquireTimeoutError,
  QuerySyntaxError,
  QueryTimeoutError,
  ReadOnlyTransactionError,
  type StatementContext,
  TransactionConflictError,
  UniqueViolationError,
  resolveDuckDbOptions,
  DuckDbPool,
  type SqlParam,
} from '@lib/duckdb';
import { TransactionManager } from '@lib/transactions';
import { toErrorResponse } from './error-mapping';
import { barrier } from '@lib/common/testing';

/** Parameter values that must never surface in an error's message, context, log or response. */
const SECRET = 'SECRET-4f1c9e-value';
const SECRET_ID = 'SECRET-7a2b-existing-id';
const SECRET_MISSING = 'SECRET-93d0-missing-parent';

/** Logger that records instead of printing. */
class CapturingLogger extends Logger {
  readonly lines: string[] = [];
  override log(message: unknown): void {
    this.lines.push(String(message));
  }
  override warn(message: unknown): void {
    this.lines.push(String(message));
  }
  override error(message: unknown): void {
    this.lines.push(String(message));
  }
}

/** What a response body must never contain (API.md §2: no SQL, stack traces, paths). */
const LEAKS: RegExp[] = [
  /\bSELECT\b/i,
  /\bINSERT\b/i,
  /\bUPDATE\b/i,
  /\bBEGIN\b/,
  /\bFROM\b/,
  /parents|kids|counters/,
  /\$\d/,
  /SECRET-/,
  / {4}at /,
  /\/tmp\//,
  /\.duckdb/,
  /(Binder|Parser|Catalog|Constraint|TransactionContext|IO|INTERRUPT) Error/,
];

interface Kind {
  /** What the row is about. */
  name: string;
  /** The exact class expected. */
  type: abstract new (...args: never[]) => DuckDbError;
  transient: boolean;
  status: number;
  code: string;
  /** The statement that failed, when the error type carries a context. */
  statement?: { sql: string; params: readonly SqlParam[]; operation: string };
  /** True when the raw driver error (`cause`) alone maps to the same response via the handler. */
  rawMapsTheSame: boolean;
  /** Produces the real error. */
  produce: () => Promise<unknown>;
}

let dir: string;
let db: DuckDbDatabase;
let pool: DuckDbPool;
let client: DuckDbClient;
let smallPool: DuckDbPool;
let smallClient: DuckDbClient;
const handler = new DatabaseExceptionHandler();

beforeAll(async () => {
  // The pool logs the broken connection it replaces; this spec checks what it logs elsewhere.
  Logger.overrideLogger(false);
  dir = mkdtempSync(join(tmpdir(), 'duckdb-classification-spec-'));
  const options = resolveDuckDbOptions({
    path: join(dir, 'classification.duckdb'),
    queryTimeoutMs: 150,
    pool: { max: 4, acquireTimeoutMs: 2_000 },
  });
  db = await DuckDbDatabase.open(options);
  const poolOptions = {
    ...options.pool,
    queryTimeoutMs: options.queryTimeoutMs,
    statementCacheSize: options.statementCacheSize,
  };
  pool = new DuckDbPool(db.instance, poolOptions);
  await pool.start();
  client = new DuckDbClient(pool, new TransactionManager(pool));
  smallPool = new DuckDbPool(db.instance, {
    ...poolOptions,
    min: 1,
    max: 1,
    acquireTimeoutMs: 50,
  });
  await smallPool.start();
  smallClient = new DuckDbClient(smallPool, new TransactionManager(smallPool));
  await client.execute(
    'CREATE TABLE parents (id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, age INTEGER CHECK (age >= 0))',
  );
  await client.execute(
    'CREATE TABLE kids (id INTEGER PRIMARY KEY, parent_id VARCHAR REFERENCES parents(id))',
  );
  await client.execute('CREATE TABLE counters (id INTEGER PRIMARY KEY, v INTEGER)');
  await client.execute('INSERT INTO parents VALUES ($1, $2, $3)', [SECRET_ID, 'Alice', 30]);
  await client.execute('INSERT INTO counters VALUES (1, 0)');
});

afterAll(async () => {
  pool.setFaultInjector(undefined);
  await Promise.all([pool.drain(), smallPool.drain()]);
  db.instance.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

async function caught(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  throw new Error('expected the statement to fail');
}

function statement(operation: string, sql: string, params: readonly SqlParam[]): Kind['statement'] {
  return { operation, sql, params };
}

const INSERT_PARENT = 'INSERT INTO parents VALUES ($1, $2, $3)';
const INSERT_KID = 'INSERT INTO kids VALUES ($1, $2)';
const UPDATE_COUNTER = 'UPDATE counters SET v = v + 1 WHERE id = $1';
const LONG = "SELECT count(*) AS n FROM range(10000000000) WHERE $1 <> 'x'";
const PARSER = 'SELEC name FROM parents WHERE id = $1';
const BINDER = 'SELECT nope FROM parents WHERE id = $1';
const CATALOG = 'SELECT name FROM no_such_table WHERE id = $1';
const READ_ONLY_WRITE = 'INSERT INTO counters VALUES ($1, $2)';
const SMALL_READ = 'SELECT $1::VARCHAR AS v';
const INJECTED = 'SELECT $1::VARCHAR AS injected_marker';

const kinds: Kind[] = [
  {
    name: 'duplicate primary key',
    type: UniqueViolationError,
    transient: false,
    status: 409,
    code: 'SLOT_TAKEN',
    statement: statement('execute', INSERT_PARENT, [SECRET_ID, 'Bob', 1]),
    rawMapsTheSame: true,
    produce: () => client.execute(INSERT_PARENT, [SECRET_ID, 'Bob', 1]),
  },
  {
    name: 'NOT NULL',
    type: NotNullViolationError,
    transient: false,
    status: 500,
    code: 'INTERNAL_ERROR',
    statement: statement('execute', INSERT_PARENT, [SECRET, null, 1]),
    rawMapsTheSame: true,
    produce: () => client.execute(INSERT_PARENT, [SECRET, null, 1]),
  },
  {
    name: 'FOREIGN KEY',
    type: ForeignKeyViolationError,
    transient: false,
    status: 500,
    code: 'INTERNAL_ERROR',
    statement: statement('execute', INSERT_KID, [1, SECRET_MISSING]),
    rawMapsTheSame: true,
    produce: () => client.execute(INSERT_KID, [1, SECRET_MISSING]),
  },
  {
    name: 'CHECK',
    type: CheckViolationError,
    transient: false,
    status: 500,
    code: 'INTERNAL_ERROR',
    statement: statement('execute', INSERT_PARENT, [SECRET, 'Carol', -1]),
    rawMapsTheSame: true,
    produce: () => client.execute(INSERT_PARENT, [SECRET, 'Carol', -1]),
  },
  {
    name: 'concurrent update conflict',
    type: TransactionConflictError,
    transient: true,
    status: 409,
    code: 'TRANSACTION_CONFLICT',
    statement: statement('execute', UPDATE_COUNTER, [1]),
    rawMapsTheSame: true,
    produce: async () => {
      const arrive = barrier(2);
      const increment = () =>
        client.transaction(
          async () => {
            await client.query('SELECT v FROM counters WHERE id = $1', [1]);
            await arrive();
            await client.execute(UPDATE_COUNTER, [1]);
          },
          { retries: 0 },
        );
      const results = await Promise.allSettled([increment(), increment()]);
      const failed = results.filter((r) => r.status === 'rejected');
      expect(failed).toHaveLength(1);
      throw (failed[0] as PromiseRejectedResult).reason;
    },
  },
  {
    name: 'parser error',
    type: QuerySyntaxError,
    transient: false,
    status: 500,
    code: 'INTERNAL_ERROR',
    statement: statement('query', PARSER, [SECRET]),
    rawMapsTheSame: true,
    produce: () => client.query(PARSER, [SECRET]),
  },
  {
    name: 'binder error',
    type: QuerySyntaxError,
    transient: false,
    status: 500,
    code: 'INTERNAL_ERROR',
    statement: statement('queryOne', BINDER, [SECRET]),
    rawMapsTheSame: true,
    produce: () => client.queryOne(BINDER, [SECRET]),
  },
  {
    name: 'catalog error',
    type: QuerySyntaxError,
    transient: false,
    status: 500,
    code: 'INTERNAL_ERROR',
    statement: statement('query', CATALOG, [SECRET]),
    rawMapsTheSame: true,
    produce: () => client.query(CATALOG, [SECRET]),
  },
  {
    name: 'write in a read-only transaction',
    type: ReadOnlyTransactionError,
    transient: false,
    status: 500,
    code: 'INTERNAL_ERROR',
    statement: statement('execute', READ_ONLY_WRITE, [7, 0]),
    rawMapsTheSame: true,
    produce: () =>
      client.transaction(() => client.execute(READ_ONLY_WRITE, [7, 0]), { readOnly: true }),
  },
  {
    name: 'query timeout',
    type: QueryTimeoutError,
    transient: true,
    status: 504,
    code: 'DATABASE_TIMEOUT',
    statement: statement('query', LONG, [SECRET]),
    // The driver only says "INTERRUPT Error": that it was a timeout is known at the edge.
    rawMapsTheSame: false,
    produce: () => client.query(LONG, [SECRET]),
  },
  {
    name: 'pool exhausted',
    type: PoolAcquireTimeoutError,
    transient: true,
    status: 503,
    code: 'DATABASE_UNAVAILABLE',
    rawMapsTheSame: false,
    produce: async () => {
      let release!: () => void;
      const held = smallPool.withConnection(
        () => new Promise<void>((resolve) => (release = resolve)),
      );
      try {
        await smallClient.query(SMALL_READ, [SECRET]);
      } finally {
        release();
        await held;
      }
    },
  },
  {
    name: 'closed connection',
    type: DatabaseUnavailableError,
    transient: true,
    status: 503,
    code: 'DATABASE_UNAVAILABLE',
    rawMapsTheSame: true,
    produce: async () => {
      // The pool's only connection is closed under it; the next statement finds it dead.
      // A write: the client reruns a read that met a broken connection, never a write.
      await smallPool.withConnection(async (connection) => connection.raw.closeSync());
      return smallClient.execute(SMALL_READ, [SECRET]);
    },
  },
  {
    name: 'injected "IO Error: …" (setFaultInjector)',
    type: DatabaseIoError,
    transient: true,
    status: 503,
    code: 'DATABASE_UNAVAILABLE',
    rawMapsTheSame: true,
    produce: async () => {
      pool.setFaultInjector((sql) =>
        sql.includes('injected_marker') ? new Error('IO Error: injected fault') : undefined,
      );
      try {
        return await client.query(INJECTED, [SECRET]);
      } finally {
        pool.setFaultInjector(undefined);
      }
    },
  },
];

/** The errors each row produced, for the log checks below. */
const produced = new Map<string, DuckDbError>();

describe('classification of real DuckDB errors (table)', () => {
  it.each(kinds.map((kind) => [kind.name, kind] as const))('%s', async (_name, kind) => {
    const error = (await caught(kind.produce())) as DuckDbError;
    produced.set(kind.name, error);

    // The type, exactly, and its transient flag.
    expect(error).toBeInstanceOf(kind.type);
    expect(error.constructor).toBe(kind.type);
    expect(error.name).toBe(kind.type.name);
    expect(error.transient).toBe(kind.transient);

    // When it happened, as an ISO-8601 string.
    expect(typeof error.occurredAt).toBe('string');
    expect(new Date(error.occurredAt).toISOString()).toBe(error.occurredAt);

    // The message says what happened, never the SQL or a parameter value.
    expect(error.message.length).toBeGreaterThan(0);
    expect(error.message).not.toMatch(/SECRET-|\bSELECT\b|\bINSERT\b|\bUPDATE\b|\$1/);

    // The statement context: operation, SQL and parameter count; never the values.
    const context = (error as { context?: StatementContext }).context;
    if (kind.statement) {
      expect(context).toEqual({
        operation: kind.statement.operation,
        sql: kind.statement.sql,
        paramCount: kind.statement.params.length,
      });
      expect(JSON.stringify(context)).not.toContain('SECRET-');
    }

    // The HTTP mapping, with the handler; no body carries SQL, values or driver text.
    const logger = new CapturingLogger('test');
    const response = toErrorResponse(error, 'req-1', logger, handler);
    expect(response.status).toBe(kind.status);
    expect(response.body).toMatchObject({ statusCode: kind.status, code: kind.code });
    expect(typeof response.body.message).toBe('string');
    const body = JSON.stringify(response.body);
    for (const leak of LEAKS) expect(body).not.toMatch(leak);
    if (kind.statement) expect(body).not.toContain(kind.statement.sql);
    if (kind.status === 503) expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);

    // The handler classifies the raw driver error the same way (what `@Retry` and the filter see).
    if (kind.rawMapsTheSame) {
      const raw = error.cause;
      expect(raw).toBeDefined();
      expect(handler.classify(raw)).toBeInstanceOf(kind.type);
      const rawResponse = toErrorResponse(raw, 'req-2', new CapturingLogger('test'), handler);
      expect(rawResponse.status).toBe(kind.status);
      expect(rawResponse.body.code).toBe(kind.code);
      for (const leak of LEAKS) expect(JSON.stringify(rawResponse.body)).not.toMatch(leak);
    }
    expect(handler.isTransient(error)).toBe(kind.transient);
  });

  it('leaves both pools usable after the failures above', async () => {
    await expect(client.queryOne('SELECT count(*) AS n FROM parents')).resolves.toEqual({
      n: 1,
    });
    await expect(smallClient.queryOne(SMALL_READ, ['ok'])).resolves.toEqual({ v: 'ok' });
    await expect(client.queryOne('SELECT v FROM counters WHERE id = 1')).resolves.toEqual({
      v: 1,
    });
  });
});

describe('what the log gets', () => {
  it('never holds parameter values (DatabaseExceptionHandler.describe and the error log)', () => {
    expect(produced.size).toBe(kinds.length);
    const leaks: string[] = [];
    for (const [name, error] of produced) {
      const described = JSON.stringify(handler.describe(error));
      const logger = new CapturingLogger('test');
      toErrorResponse(error, 'req-3', logger, handler);
      for (const text of [described, ...logger.lines]) {
        const value = /SECRET-[\w-]+/.exec(text)?.[0];
        if (value) leaks.push(`${name}: ${value} in ${text.slice(0, 160)}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('keeps the failed statement’s operation and SQL for I/O and broken-connection errors', () => {
    const missing: string[] = [];
    for (const [name, operation, sql] of [
      ['closed connection', 'execute', SMALL_READ],
      ['injected "IO Error: …" (setFaultInjector)', 'query', INJECTED],
    ]) {
      const described = handler.describe(produced.get(name));
      if (
        described.operation !== operation ||
        described.sql !== sql ||
        described.paramCount !== 1
      ) {
        missing.push(`${name}: ${JSON.stringify(described)}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
