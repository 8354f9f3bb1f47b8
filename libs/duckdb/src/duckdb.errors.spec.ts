import { DuckDBInstance } from '@duckdb/node-api';
import {
  ConstraintViolationError,
  DatabaseUnavailableError,
  type DuckDbError,
  PoolAcquireTimeoutError,
  PoolDrainingError,
  QueryFailedError,
  QuerySyntaxError,
  QueryTimeoutError,
  TransactionClosedError,
  TransactionConflictError,
  UnexpectedRollbackError,
  classifyDriverError,
  isBrokenConnectionError,
} from './duckdb.errors';

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
  });

  it('keeps the statement context on statement errors', () => {
    const error = classifyDriverError(new Error('Conflict on update!'), context);
    expect(error).toBeInstanceOf(TransactionConflictError);
    expect((error as TransactionConflictError).context).toBe(context);
  });

  it('passes typed errors through unchanged', () => {
    const typed = new QueryTimeoutError(100, context);
    expect(classifyDriverError(typed, context)).toBe(typed);
  });

  it('classifies values that are not Error objects', () => {
    expect(classifyDriverError('Conflict on update!', context)).toBeInstanceOf(
      TransactionConflictError,
    );
    expect(classifyDriverError(undefined, context)).toBeInstanceOf(QueryFailedError);
  });

  it('marks which errors are worth retrying', () => {
    expect(new PoolAcquireTimeoutError(5).transient).toBe(true);
    expect(new PoolDrainingError().transient).toBe(true);
    expect(new DatabaseUnavailableError().transient).toBe(true);
    expect(new QueryTimeoutError(1).transient).toBe(true);
    expect(new TransactionConflictError().transient).toBe(true);
    expect(new ConstraintViolationError('unique').transient).toBe(false);
    expect(new UnexpectedRollbackError().transient).toBe(false);
    expect(new TransactionClosedError().transient).toBe(false);
    expect(new QuerySyntaxError().transient).toBe(false);
    expect(new QueryFailedError().transient).toBe(false);
  });

  it('names errors after their class', () => {
    expect(new UnexpectedRollbackError().name).toBe('UnexpectedRollbackError');
    expect(new ConstraintViolationError('not_null').message).toBe(
      'The write violates a not null constraint.',
    );
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
