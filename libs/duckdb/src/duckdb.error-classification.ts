import {
  CheckViolationError,
  DatabaseInvalidatedError,
  DatabaseIoError,
  DatabaseUnavailableError,
  DuckDbError,
  ForeignKeyViolationError,
  NotNullViolationError,
  QueryFailedError,
  QuerySyntaxError,
  ReadOnlyTransactionError,
  StorageFullError,
  StorageNotWritableError,
  TransactionConflictError,
  UniqueViolationError,
  type StatementContext,
} from './duckdb.errors';

/*
 * The one classification of DuckDB driver errors (by their messages, the only thing the driver
 * gives): applied at the driver call, so callers only ever see the typed errors.
 */

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
/** `ENOSPC` / `EDQUOT`, as DuckDB reports them (`Could not write file "…": No space left on device`). */
const STORAGE_FULL = /No space left on device|Disk quota exceeded/i;
/** `EROFS` / `EACCES` / `EPERM` on the database's files (e.g. `Cannot open file "….wal": Operation not permitted`). */
const NOT_WRITABLE = /Read-only file system|Operation not permitted|Permission denied/i;
const IO =
  /^IO Error|Could not (read|write)|Cannot open file|No space left on device|Permission denied/i;
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

/** How the DuckDB driver's own errors read (`<Kind> Error: …`, commit and connection failures). */
const DRIVER_MESSAGE =
  /^(\w+ )*Error: |^Failed to |connection (disconnected|closed)|Conflict on|constraint|INTERRUPT/;

/**
 * True when `error` comes from the DuckDB driver (and so is one {@link classifyDriverError}
 * turns into a typed error), rather than from application code.
 */
export function isDriverError(error: unknown): boolean {
  if (error instanceof DuckDbError) return false;
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && DRIVER_MESSAGE.test(message);
}

/**
 * True when DuckDB reports the whole database invalidated (after a fatal error, such as a
 * checkpoint that could not write its file): every connection of that instance fails from then
 * on, and only a new instance (a reopen) serves again.
 */
export function isInvalidatedError(error: unknown): boolean {
  return INVALIDATED.test(messageOf(error));
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
  if (UNIQUE.test(message)) return new UniqueViolationError({ context, ...options });
  if (CONFLICT.test(message)) return new TransactionConflictError({ context, ...options });
  if (NOT_NULL.test(message)) return new NotNullViolationError({ context, ...options });
  if (FOREIGN_KEY.test(message)) return new ForeignKeyViolationError({ context, ...options });
  if (CHECK.test(message)) return new CheckViolationError({ context, ...options });
  if (READ_ONLY.test(message)) return new ReadOnlyTransactionError({ context, ...options });
  if (INVALIDATED.test(message)) return new DatabaseInvalidatedError(options);
  if (BROKEN.test(message)) return new DatabaseUnavailableError({ ...options, context });
  if (STORAGE_FULL.test(message)) return new StorageFullError({ ...options, context });
  if (NOT_WRITABLE.test(message)) return new StorageNotWritableError({ ...options, context });
  if (IO.test(message)) return new DatabaseIoError({ ...options, context });
  if (SYNTAX.test(message)) return new QuerySyntaxError({ context, ...options });
  return new QueryFailedError({ context, ...options });
}
