import { HttpException, Injectable } from '@nestjs/common';
import {
  DatabaseInvalidatedError,
  DuckDbError,
  type StatementContext,
  TransactionConflictError,
  classifyDriverError,
  isDriverError,
  redactValues,
} from '@lib/duckdb';
import { TaskCancelledError } from 'cockatiel';
import {
  CallAbortedError,
  CircuitOpenError,
  OperationTimeoutError,
  ResilienceError,
} from './resilience.errors';

/** What the log gets about a database error: never parameter values. */
export interface DatabaseErrorContext {
  type: string;
  operation?: string;
  sql?: string;
  paramCount?: number;
  occurredAt?: string;
  transient: boolean;
  cause?: string;
}

/**
 * What an error means to the policies and the HTTP layer: whether it is transient, whether it
 * says the dependency is failing, and what to log. Driver errors are classified once, by
 * `@lib/duckdb` at the driver call (`DuckDbClient`); a raw one that reaches here anyway (code that
 * called the driver itself) is classified by the same `classifyDriverError`, never by rules of
 * its own.
 */
@Injectable()
export class DatabaseExceptionHandler {
  /** Classifies `error`; typed and non-database errors pass through unchanged. */
  classify(error: unknown, context: StatementContext = { operation: 'unknown' }): unknown {
    if (error instanceof DuckDbError || error instanceof ResilienceError) return error;
    if (error instanceof TaskCancelledError) return new OperationTimeoutError(0);
    // A raw driver error reaches here only from code that called the driver itself: DuckDbClient
    // classifies at the driver call. Recognised and classified by @lib/duckdb, not here.
    if (!(error instanceof HttpException) && isDriverError(error)) {
      return classifyDriverError(error, context);
    }
    return error;
  }

  /** True when running the same work again may succeed. An open circuit is never retried. */
  isTransient(error: unknown): boolean {
    const classified = this.classify(error);
    if (classified instanceof CircuitOpenError) return false;
    if (classified instanceof OperationTimeoutError) return true;
    return classified instanceof DuckDbError && classified.transient;
  }

  /**
   * True when `error` says the dependency itself is failing (counts against a breaker): I/O and
   * connection errors, timeouts, an exhausted pool, an invalidated database. A constraint
   * violation, a conflict, a validation error or a 4xx says nothing about its health.
   */
  isFailure(error: unknown): boolean {
    const classified = this.classify(error);
    if (classified instanceof CircuitOpenError || classified instanceof CallAbortedError)
      return false;
    if (classified instanceof OperationTimeoutError) return true;
    if (classified instanceof DatabaseInvalidatedError) return true;
    if (classified instanceof TransactionConflictError) return false;
    if (classified instanceof DuckDbError) return classified.transient;
    if (classified instanceof HttpException) return classified.getStatus() >= 500;
    return true;
  }

  /** The context to log with the request id (operation, SQL, parameter count, time). */
  describe(error: unknown): DatabaseErrorContext {
    const classified = this.classify(error);
    const base: DatabaseErrorContext = {
      type: classified instanceof Error ? classified.name : typeof classified,
      transient: this.isTransient(classified),
    };
    if (!(classified instanceof DuckDbError)) return base;
    const { context } = classified;
    const cause = classified.cause as { message?: unknown } | undefined;
    return {
      ...base,
      operation: context?.operation,
      sql: context?.sql,
      paramCount: context?.paramCount,
      occurredAt: classified.occurredAt,
      cause: typeof cause?.message === 'string' ? redactValues(cause.message) : undefined,
    };
  }
}
