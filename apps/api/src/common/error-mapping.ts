import { HttpException, type Logger } from '@nestjs/common';
import {
  ConstraintViolationError,
  DatabaseInvalidatedError,
  DatabaseUnavailableError,
  DuckDbError,
  PoolAcquireTimeoutError,
  PoolDrainingError,
  QueryTimeoutError,
  StorageFullError,
  StorageNotWritableError,
  TransactionConflictError,
  TransactionTimeoutError,
} from '@lib/duckdb';
import {
  CircuitOpenError,
  type DatabaseExceptionHandler,
  OperationTimeoutError,
} from '@lib/resilience';
import { ApiError, type ErrorBody, codeForStatus, errorBody } from './api-error';

/** What the HTTP layer sends for an error: status, body and extra headers. */
export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
}

const FASTIFY_CODES: Record<string, [number, ErrorBody['code'], string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [
    413,
    'PAYLOAD_TOO_LARGE',
    'The request body is larger than the 1 MiB limit.',
  ],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    'The request body must be application/json.',
  ],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    400,
    'VALIDATION_FAILED',
    'Content-Length does not match the body.',
  ],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'VALIDATION_FAILED', 'The JSON body is empty.'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'VALIDATION_FAILED', 'The body is not valid JSON.'],
  FST_ERR_BAD_URL: [400, 'VALIDATION_FAILED', 'The URL is malformed.'],
  FST_ERR_ASYNC_CONSTRAINT: [400, 'VALIDATION_FAILED', 'The request is malformed.'],
};

/**
 * Maps any error to the contract's status, code and message. The one place that decides what a
 * client sees; unknown errors become a 500 that says only that, with the request id.
 */
export function toErrorResponse(
  raw: unknown,
  requestId: string,
  logger: Logger,
  handler?: DatabaseExceptionHandler,
): ErrorResponse {
  const error = handler ? handler.classify(raw) : raw;
  if (error instanceof ApiError) {
    return {
      status: error.getStatus(),
      body: error.getResponse() as ErrorBody,
      headers: error.headers,
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    let message: string | string[] =
      typeof response === 'object' && response !== null && 'message' in response
        ? (response as { message: string | string[] }).message
        : error.message;
    // Nest's own 404 ("Cannot GET /…") would echo the caller's input.
    if (status === 404) message = 'Resource not found.';
    if (status >= 500) message = `Internal error (request id ${requestId}).`;
    return { status, body: errorBody(status, codeForStatus(status), message), headers: {} };
  }
  if (error instanceof CircuitOpenError) {
    logger.warn(
      `Circuit "${error.circuit}" open (request id ${requestId}): the call was not attempted`,
    );
    return {
      status: 503,
      body: errorBody(503, 'DATABASE_UNAVAILABLE', 'The database is unavailable; retry later.'),
      headers: { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) },
    };
  }
  if (error instanceof OperationTimeoutError) {
    logger.warn(`Operation timeout (request id ${requestId}): ${error.message}`);
    return {
      status: 504,
      body: errorBody(504, 'DATABASE_TIMEOUT', 'The database did not answer in time.'),
      headers: {},
    };
  }
  if (error instanceof DuckDbError) return fromDatabaseError(error, requestId, logger, handler);
  const fastify = fastifyError(error);
  if (fastify) return fastify;
  logger.error(`Unhandled error (request id ${requestId}): ${describeError(error)}`);
  return {
    status: 500,
    body: errorBody(500, 'INTERNAL_ERROR', `Internal error (request id ${requestId}).`),
    headers: {},
  };
}

/** How one kind of database error is answered (the first rule that matches wins). */
interface DatabaseErrorRule {
  types: (abstract new (...args: never[]) => DuckDbError)[];
  when?: (error: DuckDbError) => boolean;
  status: number;
  code: ErrorBody['code'];
  message: string;
  retryAfter?: string;
  /** Logged with the request id and the error's context; unlogged when absent. */
  log?: ['warn' | 'error', string];
}

const DATABASE_ERRORS: readonly DatabaseErrorRule[] = [
  // The disk is full or the files are not writable: writes fail, reads keep working. 503 (not
  // 507): clients already retry 503 with Retry-After, and the code set stays the contract's.
  {
    types: [StorageFullError, StorageNotWritableError],
    status: 503,
    code: 'DATABASE_UNAVAILABLE',
    message: 'The database cannot store writes right now; reads still work. Retry later.',
    retryAfter: '5',
    log: ['error', 'Database storage refused a write'],
  },
  {
    types: [
      PoolAcquireTimeoutError,
      PoolDrainingError,
      DatabaseUnavailableError,
      DatabaseInvalidatedError,
    ],
    status: 503,
    code: 'DATABASE_UNAVAILABLE',
    message: 'The database is unavailable; retry later.',
    retryAfter: '1',
    log: ['warn', 'Database unavailable'],
  },
  {
    types: [QueryTimeoutError, TransactionTimeoutError],
    status: 504,
    code: 'DATABASE_TIMEOUT',
    message: 'The database did not answer in time.',
    log: ['warn', 'Query timeout'],
  },
  {
    types: [TransactionConflictError],
    status: 409,
    code: 'TRANSACTION_CONFLICT',
    message: 'A concurrent write conflicted with this one; retry.',
  },
  {
    types: [ConstraintViolationError],
    when: (error) => (error as ConstraintViolationError).kind === 'unique',
    status: 409,
    code: 'SLOT_TAKEN',
    message: 'That (usageType, priority) slot is already taken.',
  },
];

function fromDatabaseError(
  error: DuckDbError,
  requestId: string,
  logger: Logger,
  handler?: DatabaseExceptionHandler,
): ErrorResponse {
  const described = () =>
    handler ? JSON.stringify(handler.describe(error)) : describeError(error);
  const rule = DATABASE_ERRORS.find(
    (r) => r.types.some((type) => error instanceof type) && (r.when?.(error) ?? true),
  );
  if (!rule) {
    logger.error(`Database error (request id ${requestId}): ${described()}`);
    return {
      status: 500,
      body: errorBody(500, 'INTERNAL_ERROR', `Internal error (request id ${requestId}).`),
      headers: {},
    };
  }
  if (rule.log) logger[rule.log[0]](`${rule.log[1]} (request id ${requestId}): ${described()}`);
  return {
    status: rule.status,
    body: errorBody(rule.status, rule.code, rule.message),
    headers: rule.retryAfter ? { 'retry-after': rule.retryAfter } : {},
  };
}

function fastifyError(error: unknown): ErrorResponse | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode, message } = error as {
    code?: string;
    statusCode?: number;
    message?: string;
  };
  const known = code ? FASTIFY_CODES[code] : undefined;
  if (known)
    return { status: known[0], body: errorBody(known[0], known[1], known[2]), headers: {} };
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    // Errors raised by our own body parser carry a safe message and a 4xx status.
    const text = (error as { expose?: boolean }).expose
      ? (message ?? 'Bad request.')
      : 'The request is malformed.';
    return {
      status: statusCode,
      body: errorBody(statusCode, codeForStatus(statusCode), text),
      headers: {},
    };
  }
  return undefined;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const context = (error as { context?: { operation?: string; sql?: string; paramCount?: number } })
    .context;
  const parts = [`${error.name}: ${error.message}`];
  if (context)
    parts.push(
      `operation=${context.operation} params=${context.paramCount ?? 0} sql=${JSON.stringify(context.sql)}`,
    );
  if (error.cause instanceof Error) parts.push(`cause: ${error.cause.message}`);
  if (error.stack) parts.push(error.stack.split('\n').slice(1, 6).join('\n'));
  return parts.join(' | ');
}
