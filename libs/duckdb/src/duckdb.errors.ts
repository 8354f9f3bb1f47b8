/**
 * Errors raised by `@lib/duckdb`. Every driver error is classified once, at the driver edge
 * (`classifyDriverError` in duckdb.error-classification.ts), so callers only ever see these types. Messages never contain SQL
 * text, parameter values or file paths; the driver's own message is kept in `cause` for logs.
 */
export abstract class DuckDbError extends Error {
  /** Whether running the same work again may succeed (a timeout, a busy pool, a conflict). */
  abstract readonly transient: boolean;
  /** When the error was raised (ISO-8601). */
  readonly occurredAt = new Date().toISOString();
  /** The statement the error was raised for, when there was one (for logs). */
  readonly context?: StatementContext;

  /** Every subclass takes one options object; `defaultMessage` is used unless it names one. */
  protected constructor(defaultMessage: string, options: DuckDbErrorOptions = {}) {
    super(
      options.message ?? defaultMessage,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = new.target.name;
    this.context = options.context;
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

/**
 * The one constructor argument of every `@lib/duckdb` error.
 *
 * @example new QueryFailedError({ context: { operation: 'query', sql }, cause: driverError })
 */
export interface DuckDbErrorOptions {
  /** The driver's error (or other cause), kept for logs. */
  cause?: unknown;
  /** The statement it was raised for. */
  context?: StatementContext;
  /** Replaces the class's message; it reaches users, so never SQL, values or paths. */
  message?: string;
}

/** No connection became free within `acquireTimeoutMs`. Maps to 503 `DATABASE_UNAVAILABLE`. */
export class PoolAcquireTimeoutError extends DuckDbError {
  readonly transient = true;
  /** How long the caller waited, ms. */
  readonly waitedMs: number;
  constructor(options: DuckDbErrorOptions & { waitedMs: number }) {
    super(
      `No database connection became free within ${options.waitedMs} ms; retry later or raise DUCKDB_POOL_MAX.`,
      options,
    );
    this.waitedMs = options.waitedMs;
  }
}

/** The pool is draining (shutdown) and lends no more connections. Maps to 503. */
export class PoolDrainingError extends DuckDbError {
  readonly transient = true;
  constructor(options?: DuckDbErrorOptions) {
    super('The database pool is shutting down and accepts no new work.', options);
  }
}

/** The database cannot be reached or a connection is unusable. Maps to 503. */
export class DatabaseUnavailableError extends DuckDbError {
  readonly transient = true;
  constructor(options?: DuckDbErrorOptions) {
    super('The database is unavailable.', options);
  }
}

/** A statement outran `queryTimeoutMs` and was interrupted. Maps to 504 `DATABASE_TIMEOUT`. */
export class QueryTimeoutError extends DuckDbError {
  readonly transient = true;
  /** The timeout it outran, ms. */
  readonly timeoutMs: number;
  constructor(options: DuckDbErrorOptions & { timeoutMs: number }) {
    super(
      `The statement exceeded its ${options.timeoutMs} ms timeout and was interrupted.`,
      options,
    );
    this.timeoutMs = options.timeoutMs;
  }
}

/** Which integrity constraint a {@link ConstraintViolationError} broke. */
export type ConstraintKind = 'unique' | 'not_null' | 'foreign_key' | 'check';

/** A statement (or a commit) broke an integrity constraint. Never transient. */
export class ConstraintViolationError extends DuckDbError {
  readonly transient = false;
  /** Which constraint. */
  readonly kind: ConstraintKind;
  constructor(options: DuckDbErrorOptions & { kind: ConstraintKind }) {
    super(`The write violates a ${options.kind.replace('_', ' ')} constraint.`, options);
    this.kind = options.kind;
  }
}

/** A `UNIQUE` or `PRIMARY KEY` constraint was violated. */
export class UniqueViolationError extends ConstraintViolationError {
  constructor(options?: DuckDbErrorOptions) {
    super({ ...options, kind: 'unique' });
  }
}

/** A `NOT NULL` constraint was violated. */
export class NotNullViolationError extends ConstraintViolationError {
  constructor(options?: DuckDbErrorOptions) {
    super({ ...options, kind: 'not_null' });
  }
}

/** A `FOREIGN KEY` constraint was violated. */
export class ForeignKeyViolationError extends ConstraintViolationError {
  constructor(options?: DuckDbErrorOptions) {
    super({ ...options, kind: 'foreign_key' });
  }
}

/** A `CHECK` constraint was violated. */
export class CheckViolationError extends ConstraintViolationError {
  constructor(options?: DuckDbErrorOptions) {
    super({ ...options, kind: 'check' });
  }
}

/** The database file could not be read or written (I/O). Transient. Maps to 503. */
export class DatabaseIoError extends DatabaseUnavailableError {
  constructor(options?: DuckDbErrorOptions) {
    super({ message: 'The database could not read or write its file.', ...options });
  }
}

/**
 * The file system holding the database is full (`ENOSPC`, `EDQUOT`): DuckDB could not append a
 * commit to its WAL (or grow its file). Nothing of the failed write was stored, reads still work,
 * and writes work again once space is freed. Maps to 503 `DATABASE_UNAVAILABLE`.
 */
export class StorageFullError extends DatabaseIoError {
  constructor(options?: DuckDbErrorOptions) {
    super({ message: 'The database cannot store writes: its file system is full.', ...options });
  }
}

/**
 * The database's files cannot be written (read-only file system, permissions, an immutable file or
 * directory): a commit could not open or write the WAL. Nothing of the failed write was stored,
 * reads still work, and writes work again once the files are writable. Maps to 503
 * `DATABASE_UNAVAILABLE`.
 */
export class StorageNotWritableError extends DatabaseIoError {
  constructor(options?: DuckDbErrorOptions) {
    super({
      message: 'The database cannot store writes: its files are not writable.',
      ...options,
    });
  }
}

/**
 * DuckDB invalidated the database after a fatal error: nothing works on that instance again (the
 * pool reopens the file when it can). Not transient. Maps to 503.
 */
export class DatabaseInvalidatedError extends DuckDbError {
  readonly transient = false;
  constructor(options?: DuckDbErrorOptions) {
    super('The database was invalidated by a fatal error and needs a restart.', options);
  }
}

/** Two transactions wrote the same rows; the loser may rerun its whole unit. Maps to 409. */
export class TransactionConflictError extends DuckDbError {
  readonly transient = true;
  constructor(options?: DuckDbErrorOptions) {
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
  constructor(options?: DuckDbErrorOptions) {
    super(
      'The transaction was rolled back because a statement inside it failed; nothing was stored.',
      options,
    );
  }
}

/** Work tried to use a transaction that has already ended. */
export class TransactionClosedError extends DuckDbError {
  readonly transient = false;
  constructor(options?: DuckDbErrorOptions) {
    super('The transaction has already ended; its connection is no longer available.', options);
  }
}

/** A propagation rule was broken (`Mandatory` without a transaction, `Never` inside one, …). */
export class IllegalTransactionStateError extends DuckDbError {
  readonly transient = false;
  constructor(options?: DuckDbErrorOptions) {
    super('The transaction state does not allow this.', options);
  }
}

/** The transaction outran its `timeoutMs`; its statement was interrupted and it was rolled back. */
export class TransactionTimeoutError extends DuckDbError {
  readonly transient = true;
  /** The timeout it outran, ms. */
  readonly timeoutMs: number;
  constructor(options: DuckDbErrorOptions & { timeoutMs: number }) {
    super(
      `The transaction exceeded its ${options.timeoutMs} ms timeout and was rolled back.`,
      options,
    );
    this.timeoutMs = options.timeoutMs;
  }
}

/** A write was attempted inside a read-only transaction. */
export class ReadOnlyTransactionError extends DuckDbError {
  readonly transient = false;
  constructor(options?: DuckDbErrorOptions) {
    super('A read-only transaction cannot write.', options);
  }
}

/** The SQL is invalid (parser, binder or catalog error): a programming error. */
export class QuerySyntaxError extends DuckDbError {
  readonly transient = false;
  constructor(options?: DuckDbErrorOptions) {
    super('The statement is invalid.', options);
  }
}

/** Any other driver error. */
export class QueryFailedError extends DuckDbError {
  readonly transient = false;
  constructor(options?: DuckDbErrorOptions) {
    super('The statement failed.', options);
  }
}

/** Startup found an applied migration whose file has changed since, or cannot read its files. */
export class MigrationError extends DuckDbError {
  readonly transient = false;
  constructor(options?: DuckDbErrorOptions) {
    super('The migrations cannot be applied.', options);
  }
}
