import { DuckDBInstance } from '@duckdb/node-api';
import {
  ConstraintViolationError,
  DatabaseIoError,
  DatabaseUnavailableError,
  type DuckDbError,
  PoolAcquireTimeoutError,
  PoolDrainingError,
  QueryFailedError,
  QuerySyntaxError,
  QueryTimeoutError,
  StorageFullError,
  StorageNotWritableError,
  TransactionClosedError,
  TransactionConflictError,
  UnexpectedRollbackError,
} from './duckdb.errors';
import {
  classifyDriverError,
  isBrokenConnectionError,
  isDriverError,
  isInvalidatedError,
} from './duckdb.error-classification';

const context = { operation: 'execute', sql: 'INSERT INTO t VALUES ($1)', paramCount: 1 };

function describeError(error: DuckDbError): string {
  return error instanceof ConstraintViolationError ? `${error.name}:${error.kind}` : error.name;
}

describe('classifyDriverError', () => {
  it.each([
    [
      'Constraint Error: Duplicate key "id: 1" violates primary key constraint.',
      'UniqueViolationError:unique',
    ],
    [
      'Constraint Error: Duplicate key "name: a" violates unique constraint.',
      'UniqueViolationError:unique',
    ],
    [
      'Constraint Error: PRIMARY KEY or UNIQUE constraint violation: duplicate key "1"',
      'UniqueViolationError:unique',
    ],
    [
      'TransactionContext Error: Failed to commit: PRIMARY KEY or UNIQUE constraint violation',
      'UniqueViolationError:unique',
    ],
    ['Constraint Error: NOT NULL constraint failed: kids.name', 'NotNullViolationError:not_null'],
    [
      'Constraint Error: CHECK constraint failed on table kids with expression CHECK((age >= 0))',
      'CheckViolationError:check',
    ],
    [
      'Constraint Error: Violates foreign key constraint because key "id: 99" does not exist in the referenced table',
      'ForeignKeyViolationError:foreign_key',
    ],
    ['TransactionContext Error: Conflict on update!', 'TransactionConflictError'],
    ['TransactionContext Error: Conflict on tuple deletion!', 'TransactionConflictError'],
    [
      'TransactionContext Error: Catalog write-write conflict on create with "t"',
      'TransactionConflictError',
    ],
    ['Parser Error: syntax error at or near "SELEC"', 'QuerySyntaxError'],
    ['Binder Error: Referenced column "nope" not found in FROM clause!', 'QuerySyntaxError'],
    ['Catalog Error: Table with name nope does not exist!', 'QuerySyntaxError'],
    ['Failed to query: connection disconnected', 'DatabaseUnavailableError'],
    [
      'FATAL Error: Failed: database has been invalidated because of a previous fatal error.',
      'DatabaseInvalidatedError',
    ],
    [
      'TransactionContext Error: Cannot write to database "x" - transaction is launched in read-only mode',
      'ReadOnlyTransactionError',
    ],
    // Seen with 1.5.6 on a full tmpfs (test/faults/full-disk.e2e-spec.ts): the commit's WAL append.
    [
      'TransactionContext Error: Failed to commit: Could not write file "/data/x.duckdb.wal": No space left on device',
      'StorageFullError',
    ],
    [
      'IO Error: Could not write file "/data/x.duckdb.wal": Disk quota exceeded',
      'StorageFullError',
    ],
    // Seen with 1.5.6 once the directory is immutable (test/faults/read-only.e2e-spec.ts).
    [
      'TransactionContext Error: Failed to commit: Cannot open file "/data/x.duckdb.wal": Operation not permitted',
      'StorageNotWritableError',
    ],
    [
      'IO Error: Cannot open file "/data/x.duckdb.wal": Read-only file system',
      'StorageNotWritableError',
    ],
    [
      'IO Error: Cannot open file "/data/x.duckdb.wal": Permission denied',
      'StorageNotWritableError',
    ],
    [
      'IO Error: Cannot open file "/data/x.duckdb.wal": No such file or directory',
      'DatabaseIoError',
    ],
    // A checkpoint that cannot write invalidates the whole database, whatever the cause.
    [
      'FATAL Error: Failed to create checkpoint because of error: Could not write file "/data/x.duckdb": No space left on device',
      'DatabaseInvalidatedError',
    ],
    [
      'FATAL Error: Failed: database has been invalidated because of a previous fatal error. The database must be restarted prior to being used again.\nOriginal error: "Failed to create checkpoint because of error: Could not remove file "/data/x.duckdb.wal": Operation not permitted"',
      'DatabaseInvalidatedError',
    ],
    ['INTERRUPT Error: Interrupted!', 'QueryFailedError'],
    ["Conversion Error: Could not convert string 'abc' to INT32", 'QueryFailedError'],
    [
      'TransactionContext Error: Current transaction is aborted (please ROLLBACK)',
      'QueryFailedError',
    ],
  ])('classifies %p as %s', (message, expected) => {
    const cause = new Error(message);
    const error = classifyDriverError(cause, context);
    expect(describeError(error)).toBe(expected);
    expect(error.cause).toBe(cause);
    // Messages never carry SQL, values or the driver's text.
    expect(error.message).not.toContain('INSERT');
    expect(error.message).not.toContain(message);
    expect(error.message).not.toContain('/data/');
  });

  it('keeps the statement context on statement errors', () => {
    const error = classifyDriverError(new Error('Conflict on update!'), context);
    expect(error).toBeInstanceOf(TransactionConflictError);
    expect((error as TransactionConflictError).context).toBe(context);
  });

  it('passes typed errors through unchanged', () => {
    const typed = new QueryTimeoutError({ timeoutMs: 100, context });
    expect(classifyDriverError(typed, context)).toBe(typed);
  });

  it('classifies values that are not Error objects', () => {
    expect(classifyDriverError('Conflict on update!', context)).toBeInstanceOf(
      TransactionConflictError,
    );
    expect(classifyDriverError(undefined, context)).toBeInstanceOf(QueryFailedError);
  });

  it('marks which errors are worth retrying', () => {
    expect(new PoolAcquireTimeoutError({ waitedMs: 5 }).transient).toBe(true);
    expect(new PoolDrainingError().transient).toBe(true);
    expect(new DatabaseUnavailableError().transient).toBe(true);
    expect(new QueryTimeoutError({ timeoutMs: 1 }).transient).toBe(true);
    expect(new TransactionConflictError().transient).toBe(true);
    expect(new ConstraintViolationError({ kind: 'unique' }).transient).toBe(false);
    expect(new UnexpectedRollbackError().transient).toBe(false);
    expect(new TransactionClosedError().transient).toBe(false);
    expect(new QuerySyntaxError().transient).toBe(false);
    expect(new QueryFailedError().transient).toBe(false);
  });

  it('names errors after their class', () => {
    expect(new UnexpectedRollbackError().name).toBe('UnexpectedRollbackError');
    expect(new ConstraintViolationError({ kind: 'not_null' }).message).toBe(
      'The write violates a not null constraint.',
    );
  });
});

describe('storage errors', () => {
  it('are I/O errors (503, transient) that say what is wrong without a path', () => {
    const full = classifyDriverError(
      new Error('Failed to commit: Could not write file "/srv/db.wal": No space left on device'),
      context,
    );
    expect(full).toBeInstanceOf(StorageFullError);
    expect(full).toBeInstanceOf(DatabaseIoError);
    expect(full.transient).toBe(true);
    expect(full.message).toBe('The database cannot store writes: its file system is full.');
    expect((full as StorageFullError).context).toBe(context);
    const readOnly = new StorageNotWritableError();
    expect(readOnly).toBeInstanceOf(DatabaseUnavailableError);
    expect(readOnly.name).toBe('StorageNotWritableError');
    expect(readOnly.message).toBe('The database cannot store writes: its files are not writable.');
  });
});

describe('isInvalidatedError', () => {
  it.each([
    ['FATAL Error: Failed: database has been invalidated because of a previous fatal error.', true],
    ['FATAL Error: Failed to create checkpoint because of error: Could not write file', true],
    [
      'TransactionContext Error: Failed to commit: Could not write file: No space left on device',
      false,
    ],
    ['Failed to query: connection disconnected', false],
  ])('%p -> %p', (message, expected) => {
    expect(isInvalidatedError(new Error(message))).toBe(expected);
  });
});

describe('isBrokenConnectionError', () => {
  it.each([
    ['Failed to query: connection disconnected', true],
    ['Failed to prepare: connection disconnected', true],
    ['Connection was closed', true],
    ['FATAL Error: database has been invalidated', true],
    ['Constraint Error: Duplicate key "id: 1" violates primary key constraint.', false],
    ['INTERRUPT Error: Interrupted!', false],
  ])('%p -> %p', (message, expected) => {
    expect(isBrokenConnectionError(new Error(message))).toBe(expected);
  });
});

// Errors raised by the native driver come from Node's own realm; under Jest (a vm context) they
// are not `instanceof Error` of the test realm. The classification must not depend on that.
describe('errors raised by the real driver', () => {
  let instance: DuckDBInstance;

  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
  });

  afterAll(() => instance.closeSync());

  async function driverError(work: () => Promise<unknown>): Promise<unknown> {
    return work().then(
      () => {
        throw new Error('expected the driver to fail');
      },
      (error: unknown) => error,
    );
  }

  it('recognizes a syntax error and a closed connection', async () => {
    const connection = await instance.connect();
    const syntax = await driverError(() => connection.run('SELEC 1'));
    expect(classifyDriverError(syntax, context)).toBeInstanceOf(QuerySyntaxError);
    connection.closeSync();
    const closed = await driverError(() => connection.run('SELECT 1'));
    expect(isBrokenConnectionError(closed)).toBe(true);
    expect(classifyDriverError(closed, context)).toBeInstanceOf(DatabaseUnavailableError);
  });
});

describe('one constructor shape for every error', () => {
  const cause = new Error('Constraint Error: Duplicate key "id: 1"');

  it('takes { context, cause, message } (plus its own fields) for every class, and keeps them', async () => {
    const errors = await import('./duckdb.errors');
    const extra: Record<string, object> = {
      PoolAcquireTimeoutError: { waitedMs: 5 },
      QueryTimeoutError: { timeoutMs: 5 },
      TransactionTimeoutError: { timeoutMs: 5 },
      ConstraintViolationError: { kind: 'check' },
    };
    const classes = (Object.entries(errors) as [string, unknown][]).filter(
      (entry): entry is [string, new (options: object) => DuckDbError] =>
        typeof entry[1] === 'function' &&
        (entry[1] as { prototype: unknown }).prototype instanceof Error &&
        entry[0] !== 'DuckDbError',
    );
    expect(classes.length).toBeGreaterThanOrEqual(20);
    for (const [name, ErrorClass] of classes) {
      const error = new ErrorClass({ ...extra[name], context, cause });
      expect([name, error.name, error.context, error.cause]).toEqual([name, name, context, cause]);
      expect(error.message).not.toContain('INSERT');
      const custom = new ErrorClass({ ...extra[name], message: 'Custom.' });
      expect([name, custom.message]).toEqual([name, 'Custom.']);
    }
  });
});

describe('isDriverError', () => {
  it("recognises the driver's errors, not typed or application errors", () => {
    expect(isDriverError(new Error('Constraint Error: Duplicate key'))).toBe(true);
    expect(isDriverError(new Error('TransactionContext Error: Failed to commit'))).toBe(true);
    expect(isDriverError(new Error('Failed to execute prepared statement'))).toBe(true);
    expect(isDriverError(new Error('connection disconnected'))).toBe(true);
    expect(isDriverError(new QueryFailedError())).toBe(false);
    expect(isDriverError(new Error('The model was not found'))).toBe(false);
    expect(isDriverError('Constraint Error: not an Error object')).toBe(false);
  });
});
