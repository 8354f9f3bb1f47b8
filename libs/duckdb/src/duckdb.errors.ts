/**
 * Errors raised by `@lib/duckdb`. Every driver error is classified once, at the driver edge
 * ({@link classifyDriverError}), so callers only ever see these types. Messages never contain SQL
 * text, parameter values or file paths; the driver's own message is kept in `cause` for logs.
 */
export abstract class DuckDbError extends Error {
  /** Whether running the same work again may succeed (a timeout, a busy pool, a conflict). */
  abstract readonly transient: boolean;
  /** When the error was raised (ISO-8601). */
  readonly occurredAt = new Date().toISOString();

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Context attached to errors raised while running a statement. */
export interface StatementContext {
  /** `query`, `queryOne`, `execute`, `transaction`, `migrate`, … */
  operation: string;
  /** The statement text (for logs only; never sent to clients). */
  sql?: string;
  /** How many parameters were bound (never their values). */
  paramCount?: number;
}

/** No connection became free within `acquireTimeoutMs`. Maps to 503 `DATABASE_UNAVAILABLE`. */
export class PoolAcquireTimeoutError extends DuckDbError {
  readonly transient = true;
  constructor(readonly waitedMs: number) {
    super(
      `No database connection became free within ${waitedMs} ms; retry later or raise DUCKDB_POOL_MAX.`,
    );
  }
}

/** The pool is draining (shutdown) and lends no more connections. Maps to 503. */
export class PoolDrainingError extends DuckDbError {
  readonly transient = true;
  constructor() {
    super('The database pool is shutting down and accepts no new work.');
  }
}

/** The database cannot be reached or a connection is unusable. Maps to 503. */
export class DatabaseUnavailableError extends DuckDbError {
  readonly transient = true;
  constructor(
    message = 'The database is unavailable.',
    options?: { cause?: unknown },
    readonly context?: StatementContext,
  ) {
    super(message, options);
  }
}

/** A statement outran `queryTimeoutMs` and was interrupted. Maps to 504 `DATABASE_TIMEOUT`. */
export class QueryTimeoutError extends DuckDbError {
  readonly transient = true;
  constructor(
    readonly timeoutMs: number,
    readonly context?: StatementContext,
    options?: { cause?: unknown },
  ) {
    super(`The statement exceeded its ${timeoutMs} ms timeout and was interrupted.`, options);
  }
}

/** Which integrity constraint a {@link ConstraintViolationError} broke. */
export type ConstraintKind = 'unique' | 'not_null' | 'foreign_key' | 'check';

/** A statement (or a commit) broke an integrity constraint. Never transient. */
export class ConstraintViolationError extends DuckDbError {
  readonly transient = false;
  constructor(
    readonly kind: ConstraintKind,
    readonly context?: StatementContext,
    options?: { cause?: unknown },
  ) {
    super(`The write violates a ${kind.replace('_', ' ')} constraint.`, options);
  }
}

/** A `UNIQUE` or `PRIMARY KEY` constraint was violated. */
export class UniqueViolationError extends ConstraintViolationError {
  constructor(context?: StatementContext, options?: { cause?: unknown }) {
    super('unique', context, options);
  }
}

/** A `NOT NULL` constraint was violated. */
export class NotNullViolationError extends ConstraintViolationError {
  constructor(context?: StatementContext, options?: { cause?: unknown }) {
    super('not_null', context, options);
  }
}

/** A `FOREIGN KEY` constraint was violated. */
export class ForeignKeyViolationError extends ConstraintViolationError {
  constructor(context?: StatementContext, options?: { cause?: unknown }) {
    super('foreign_key', context, options);
  }
}

/** A `CHECK` constraint was violated. */
export class CheckViolationError extends ConstraintViolationError {
  constructor(context?: StatementContext, options?: { cause?: unknown }) {
    super('check', context, options);
  }
}

/** The database file could not be read or written (I/O). Transient. Maps to 503. */
export class DatabaseIoError extends DatabaseUnavailableError {
  constructor(options?: { cause?: unknown }, context?: StatementContext) {
    super('The database could not read or write its file.', options, context);
  }
}

/**
 * DuckDB invalidated the database after a fatal error: nothing will work until the process
 * restarts. Not transient. Maps to 503.
 */
export class DatabaseInvalidatedError extends DuckDbError {
  readonly transient = false;
  constructor(options?: { cause?: unknown }) {
    super('The database was invalidated by a fatal error and needs a restart.', options);
  }
}

/** Two transactions wrote the same rows; the loser may rerun its whole unit. Maps to 409. */
export class TransactionConflictError extends DuckDbError {
  readonly transient = true;
  constructor(
    readonly context?: StatementContext,
    options?: { cause?: unknown },
  ) {
    super('The transaction conflicted with a concurrent write.', options);
  }
}

/**
 * A transaction was doomed by a failed statement (even one whose error the caller caught), so it
 * was rolled back instead of committed. DuckDB would otherwise report a successful `COMMIT` that
 * stored nothing.
 */
export class UnexpectedRollbackError extends DuckDbError {
  readonly transient = false;
  constructor(options?: { cause?: unknown }) {
    super(
      'The transaction was rolled back because a statement inside it failed; nothing was stored.',
      options,
    );
  }
}

/** Work tried to use a transaction that has already ended. */
export class TransactionClosedError extends DuckDbError {
  readonly transient = false;
  constructor() {
    super('The transaction has already ended; its connection is no longer available.');
  }
}

/** A propagation rule was broken (`Mandatory` without a transaction, `Never` inside one, …). */
export class IllegalTransactionStateError extends DuckDbError {
  readonly transient = false;
}

/** The transaction outran its `timeoutMs`; its statement was interrupted and it was rolled back. */
export class TransactionTimeoutError extends DuckDbError {
  readonly transient = true;
  constructor(
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`The transaction exceeded its ${timeoutMs} ms timeout and was rolled back.`, options);
  }
}

/** A write was attempted inside a read-only transaction. */
export class ReadOnlyTransactionError extends DuckDbError {
  readonly transient = false;
  constructor(
    readonly context?: StatementContext,
    options?: { cause?: unknown },
  ) {
    super('A read-only transaction cannot write.', options);
  }
}

/** The SQL is invalid (parser, binder or catalog error): a programming error. */
export class QuerySyntaxError extends DuckDbError {
  readonly transient = false;
  constructor(
    readonly context?: StatementContext,
    options?: { cause?: unknown },
  ) {
    super('The statement is invalid.', options);
  }
}

/** Any other driver error. */
export class QueryFailedError extends DuckDbError {
  readonly transient = false;
  constructor(
    readonly context?: StatementContext,
    options?: { cause?: unknown },
  ) {
    super('The statement failed.', options);
  }
}

/** Startup found an applied migration whose file has changed since. */
export class MigrationError extends DuckDbError {
  readonly transient = false;
}

const CONFLICT =
  /Conflict on (update|tuple deletion)|write-write conflict|Catalog write-write conflict|Transaction conflict/i;
const UNIQUE =
  /(PRIMARY KEY or UNIQUE constraint|Duplicate key .* violates (primary key|unique) constraint)/i;
const NOT_NULL = /NOT NULL constraint failed/i;
const FOREIGN_KEY = /foreign key constraint/i;
const CHECK = /CHECK constraint failed/i;
const READ_ONLY = /read-only mode|read-only transaction|attached in read-only/i;
const SYNTAX = /^(Parser|Binder|Catalog) Error/i;
const INVALIDATED = /database (has been )?invalidated|FATAL Error/i;
const IO = /^IO Error|Could not (read|write)|No space left on device|Permission denied/i;
const BROKEN =
  /(connection (was |already |has been )?(closed|disconnected)|database (has been )?invalidated|FATAL Error)/i;

/**
 * The message of anything thrown. Errors from the native driver are not always `instanceof
 * Error` (they come from another realm under Jest, for example), so this reads `message` itself.
 */
function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

/**
 * A driver message with its quoted values hidden (`Duplicate key "id: 42"` → `Duplicate key "…"`),
 * fit for logs: parameter values never reach them.
 */
export function redactValues(message: string): string {
  return message.replace(/"[^"]*"/g, '"…"').replace(/'[^']*'/g, "'…'");
}

/** True when a driver error means the connection (or the database behind it) is unusable. */
export function isBrokenConnectionError(error: unknown): boolean {
  return BROKEN.test(messageOf(error));
}

/**
 * Turns a raw `@duckdb/node-api` error into one of this library's typed errors. Typed errors pass
 * through unchanged.
 */
export function classifyDriverError(error: unknown, context: StatementContext): DuckDbError {
  if (error instanceof DuckDbError) return error;
  const message = messageOf(error);
  const options = { cause: error };
  if (UNIQUE.test(message)) return new UniqueViolationError(context, options);
  if (CONFLICT.test(message)) return new TransactionConflictError(context, options);
  if (NOT_NULL.test(message)) return new NotNullViolationError(context, options);
  if (FOREIGN_KEY.test(message)) return new ForeignKeyViolationError(context, options);
  if (CHECK.test(message)) return new CheckViolationError(context, options);
  if (READ_ONLY.test(message)) return new ReadOnlyTransactionError(context, options);
  if (INVALIDATED.test(message)) return new DatabaseInvalidatedError(options);
  if (BROKEN.test(message)) return new DatabaseUnavailableError(undefined, options, context);
  if (IO.test(message)) return new DatabaseIoError(options, context);
  if (SYNTAX.test(message)) return new QuerySyntaxError(context, options);
  return new QueryFailedError(context, options);
}
