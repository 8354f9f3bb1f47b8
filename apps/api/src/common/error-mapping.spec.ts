import { BadRequestException, HttpException, type Logger, NotFoundException } from '@nestjs/common';
import {
  CheckViolationError,
  DatabaseInvalidatedError,
  DatabaseIoError,
  DatabaseUnavailableError,
  type DuckDbError,
  ForeignKeyViolationError,
  NotNullViolationError,
  PoolAcquireTimeoutError,
  PoolDrainingError,
  QueryFailedError,
  QuerySyntaxError,
  QueryTimeoutError,
  ReadOnlyTransactionError,
  type StatementContext,
  StorageFullError,
  StorageNotWritableError,
  TransactionConflictError,
  TransactionTimeoutError,
  UnexpectedRollbackError,
  UniqueViolationError,
} from '@lib/duckdb';
import { CircuitOpenError, DatabaseExceptionHandler, OperationTimeoutError } from '@lib/resilience';
import { ApiError } from './api-error';
import { type ErrorResponse, toErrorResponse } from './error-mapping';

const REQUEST_ID = 'req-7f3a';
/** What must never reach a client: the statement, the table, the file's path. */
const SQL = 'SELECT * FROM model_configs WHERE id = $1';
const PATH = '/var/lib/secret-dir/model-configs.duckdb';
const CONTEXT: StatementContext = { operation: 'query', sql: SQL, paramCount: 1 };
const DRIVER_CAUSE = { cause: new Error(`IO Error: Could not write file "${PATH}.wal"`) };

/** A Nest `Logger` that records what it was given instead of printing it. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (message: unknown) => void lines.push(String(message));
  return { lines, log: record, warn: record, error: record, debug: record } as never;
}

function map(error: unknown, handler?: DatabaseExceptionHandler): ErrorResponse {
  return toErrorResponse(error, REQUEST_ID, recordingLogger(), handler);
}

/** The response as the client gets it: its status, then body and headers as sent. */
function expectResponse(
  response: ErrorResponse,
  status: number,
  code: string,
  headers: Record<string, string> = {},
): void {
  expect(response.status).toBe(status);
  expect(response.body).toMatchObject({ statusCode: status, code });
  expect(typeof response.body.error).toBe('string');
  expect(response.headers).toEqual(headers);
}

/** Asserts nothing internal (SQL, table names, paths, stacks) is in what the client gets. */
function expectNothingInternal(response: ErrorResponse): void {
  const sent = JSON.stringify(response);
  expect(sent).not.toContain('SELECT');
  expect(sent).not.toContain('model_configs');
  expect(sent).not.toContain('/var/lib');
  expect(sent).not.toContain('secret-dir');
  expect(sent).not.toMatch(/\bat \S+ \(/);
}

describe('toErrorResponse', () => {
  describe('errors of the contract (API.md, Errors)', () => {
    it('sends an ApiError as it is: its status, code, message, extras and headers', () => {
      const error = new ApiError(
        429,
        'RATE_LIMITED',
        'Too many requests.',
        { limit: 10 },
        { 'retry-after': '7' },
      );
      const response = map(error);
      expectResponse(response, 429, 'RATE_LIMITED', { 'retry-after': '7' });
      expect(response.body).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        code: 'RATE_LIMITED',
        message: 'Too many requests.',
        limit: 10,
      });
    });

    it('keeps the valid: false of a failed model validation (404)', () => {
      const response = map(
        ApiError.notFound('Enabled model for that usage type', { valid: false }),
      );
      expectResponse(response, 404, 'NOT_FOUND');
      expect(response.body.valid).toBe(false);
    });

    it('sends a 400 with the offending fields as an array', () => {
      const response = map(ApiError.validation(['If-Match must be "<version>"']));
      expectResponse(response, 400, 'VALIDATION_FAILED');
      expect(response.body.message).toEqual(['If-Match must be "<version>"']);
    });

    it('sends 412 VERSION_MISMATCH for a stale If-Match', () => {
      expectResponse(map(ApiError.versionMismatch()), 412, 'VERSION_MISMATCH');
    });

    it.each([
      [400, 'VALIDATION_FAILED'],
      [401, 'UNAUTHORIZED'],
      [404, 'NOT_FOUND'],
      [405, 'METHOD_NOT_ALLOWED'],
      [408, 'REQUEST_TIMEOUT'],
      [412, 'VERSION_MISMATCH'],
      [413, 'PAYLOAD_TOO_LARGE'],
      [414, 'URI_TOO_LONG'],
      [415, 'UNSUPPORTED_MEDIA_TYPE'],
      [429, 'RATE_LIMITED'],
      [503, 'DATABASE_UNAVAILABLE'],
      [504, 'DATABASE_TIMEOUT'],
    ])("gives Nest's own HttpException %i the code %s", (status, code) => {
      expectResponse(map(new HttpException('nope', status)), status, code);
    });

    it("keeps the message of Nest's validation errors (400 names the fields)", () => {
      const response = map(new BadRequestException(['priority must be an integer']));
      expectResponse(response, 400, 'VALIDATION_FAILED');
      expect(response.body.message).toEqual(['priority must be an integer']);
    });

    it("does not echo the caller's path in Nest's own 404", () => {
      const response = map(new NotFoundException('Cannot GET /api/v1/<script>alert(1)</script>'));
      expectResponse(response, 404, 'NOT_FOUND');
      expect(response.body.message).toBe('Resource not found.');
    });

    it('hides the message of a 5xx HttpException behind the request id', () => {
      const response = map(new HttpException(`failed at ${PATH}: ${SQL}`, 500));
      expectResponse(response, 500, 'INTERNAL_ERROR');
      expect(response.body.message).toBe(`Internal error (request id ${REQUEST_ID}).`);
      expectNothingInternal(response);
    });
  });

  describe('database errors (RESILIENCE.md, error table)', () => {
    it.each<[string, () => DuckDbError]>([
      [
        'DatabaseUnavailableError',
        () => new DatabaseUnavailableError({ ...DRIVER_CAUSE, context: CONTEXT }),
      ],
      ['DatabaseIoError', () => new DatabaseIoError({ ...DRIVER_CAUSE, context: CONTEXT })],
      ['PoolAcquireTimeoutError', () => new PoolAcquireTimeoutError({ waitedMs: 5000 })],
      ['PoolDrainingError', () => new PoolDrainingError()],
    ])('maps %s to 503 DATABASE_UNAVAILABLE with Retry-After', (_name, make) => {
      const response = map(make());
      expectResponse(response, 503, 'DATABASE_UNAVAILABLE', { 'retry-after': '1' });
      expectNothingInternal(response);
    });

    it('maps DatabaseInvalidatedError (needs a restart) to 503 DATABASE_UNAVAILABLE', () => {
      const response = map(new DatabaseInvalidatedError(DRIVER_CAUSE));
      expect(response.status).toBe(503);
      expect(response.body.code).toBe('DATABASE_UNAVAILABLE');
      expectNothingInternal(response);
    });

    it.each<[string, () => DuckDbError]>([
      ['StorageFullError', () => new StorageFullError({ ...DRIVER_CAUSE, context: CONTEXT })],
      [
        'StorageNotWritableError',
        () => new StorageNotWritableError({ ...DRIVER_CAUSE, context: CONTEXT }),
      ],
    ])('maps %s to 503 saying reads still work, with Retry-After', (_name, make) => {
      const response = map(make());
      expectResponse(response, 503, 'DATABASE_UNAVAILABLE', { 'retry-after': '5' });
      expect(response.body.message).toMatch(/reads still work/);
      expectNothingInternal(response);
    });

    it.each<[string, () => Error]>([
      ['QueryTimeoutError', () => new QueryTimeoutError({ timeoutMs: 10_000, context: CONTEXT })],
      ['TransactionTimeoutError', () => new TransactionTimeoutError({ timeoutMs: 10_000 })],
      ['OperationTimeoutError', () => new OperationTimeoutError(10_000)],
    ])('maps %s to 504 DATABASE_TIMEOUT', (_name, make) => {
      const response = map(make());
      expectResponse(response, 504, 'DATABASE_TIMEOUT');
      expectNothingInternal(response);
    });

    it.each([
      [1, '1'],
      [1_500, '2'],
      [30_000, '30'],
      [0, '1'],
    ])(
      'maps CircuitOpenError (trial in %i ms) to 503 with Retry-After %s seconds, at least 1',
      (retryAfterMs, seconds) => {
        const response = map(new CircuitOpenError('database', retryAfterMs));
        expectResponse(response, 503, 'DATABASE_UNAVAILABLE', { 'retry-after': seconds });
      },
    );

    it('maps TransactionConflictError (retries spent) to 409 TRANSACTION_CONFLICT', () => {
      const response = map(new TransactionConflictError({ context: CONTEXT, ...DRIVER_CAUSE }));
      expectResponse(response, 409, 'TRANSACTION_CONFLICT');
      expectNothingInternal(response);
    });

    it('maps UniqueViolationError to 409 SLOT_TAKEN', () => {
      const response = map(new UniqueViolationError({ context: CONTEXT, ...DRIVER_CAUSE }));
      expectResponse(response, 409, 'SLOT_TAKEN');
      expect(response.body.message).toBe('That (usageType, priority) slot is already taken.');
      expectNothingInternal(response);
    });

    it.each<[string, () => DuckDbError]>([
      [
        'NotNullViolationError',
        () => new NotNullViolationError({ context: CONTEXT, ...DRIVER_CAUSE }),
      ],
      [
        'ForeignKeyViolationError',
        () => new ForeignKeyViolationError({ context: CONTEXT, ...DRIVER_CAUSE }),
      ],
      ['CheckViolationError', () => new CheckViolationError({ context: CONTEXT, ...DRIVER_CAUSE })],
      ['QuerySyntaxError', () => new QuerySyntaxError({ context: CONTEXT, ...DRIVER_CAUSE })],
      [
        'ReadOnlyTransactionError',
        () => new ReadOnlyTransactionError({ context: CONTEXT, ...DRIVER_CAUSE }),
      ],
      ['UnexpectedRollbackError', () => new UnexpectedRollbackError(DRIVER_CAUSE)],
      ['QueryFailedError', () => new QueryFailedError({ context: CONTEXT, ...DRIVER_CAUSE })],
    ])('maps %s (a bug) to 500 INTERNAL_ERROR with the request id only', (_name, make) => {
      const response = map(make());
      expectResponse(response, 500, 'INTERNAL_ERROR');
      expect(response.body.message).toBe(`Internal error (request id ${REQUEST_ID}).`);
      expectNothingInternal(response);
    });

    it('logs what the client does not see: the request id, the error type and the SQL', () => {
      const logger = recordingLogger();
      toErrorResponse(
        new QuerySyntaxError({ context: CONTEXT, ...DRIVER_CAUSE }),
        REQUEST_ID,
        logger,
      );
      const logged = logger.lines.join('\n');
      expect(logged).toContain(REQUEST_ID);
      expect(logged).toContain('QuerySyntaxError');
      expect(logged).toContain(SQL);
    });
  });

  describe('raw driver errors, classified by the DatabaseExceptionHandler first', () => {
    const handler = new DatabaseExceptionHandler();

    it('maps a raw duplicate key error to 409 SLOT_TAKEN without its text', () => {
      const raw = new Error(
        'Constraint Error: Duplicate key "usage_type: chat_deep, priority: 1" violates primary key constraint',
      );
      const response = map(raw, handler);
      expectResponse(response, 409, 'SLOT_TAKEN');
      expect(JSON.stringify(response)).not.toContain('chat_deep');
    });

    it('maps a raw write-write conflict to 409 TRANSACTION_CONFLICT', () => {
      const raw = new Error('TransactionContext Error: Conflict on update!');
      expectResponse(map(raw, handler), 409, 'TRANSACTION_CONFLICT');
    });

    it('maps a raw full disk to 503 with Retry-After, without the path', () => {
      const raw = new Error(
        `IO Error: Could not write file "${PATH}.wal": No space left on device`,
      );
      const response = map(raw, handler);
      expectResponse(response, 503, 'DATABASE_UNAVAILABLE', { 'retry-after': '5' });
      expectNothingInternal(response);
    });

    it('maps a raw parser error to 500 without the SQL', () => {
      const raw = new Error(`Parser Error: syntax error at or near "FROM" in ${SQL}`);
      const response = map(raw, handler);
      expectResponse(response, 500, 'INTERNAL_ERROR');
      expectNothingInternal(response);
    });
  });

  describe('body parser and framework errors', () => {
    it.each([
      ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 'PAYLOAD_TOO_LARGE'],
      ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400, 'VALIDATION_FAILED'],
      ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'VALIDATION_FAILED'],
      ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 'VALIDATION_FAILED'],
      ['FST_ERR_BAD_URL', 400, 'VALIDATION_FAILED'],
    ])('maps Fastify %s to %i %s with a fixed message', (code, status, contractCode) => {
      const error = Object.assign(new Error(`Unexpected token in JSON at ${PATH}`), {
        code,
        statusCode: status,
      });
      const response = map(error);
      expectResponse(response, status, contractCode);
      expectNothingInternal(response);
    });

    it('keeps the message of a 4xx the body parser marked as safe to show', () => {
      const error = Object.assign(new Error('parameters is nested deeper than 64 levels'), {
        statusCode: 400,
        expose: true,
      });
      const response = map(error);
      expectResponse(response, 400, 'VALIDATION_FAILED');
      expect(response.body.message).toEqual(['parameters is nested deeper than 64 levels']);
    });

    it('replaces the message of a 4xx not marked as safe', () => {
      const error = Object.assign(new Error(`cannot read ${PATH}`), { statusCode: 400 });
      const response = map(error);
      expectResponse(response, 400, 'VALIDATION_FAILED');
      expect(response.body.message).toEqual(['The request is malformed.']);
    });
  });

  describe('unknown errors', () => {
    it.each<[string, unknown]>([
      ['an Error', new Error(`ENOENT: no such file or directory, open '${PATH}'`)],
      ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'sql')")],
      ['a string', `failed: ${SQL}`],
      ['null', null],
      ['an object with a 5xx statusCode', { statusCode: 502, message: SQL }],
    ])('maps %s to 500 INTERNAL_ERROR naming the request id only', (_name, error) => {
      const response = map(error);
      expectResponse(response, 500, 'INTERNAL_ERROR');
      expect(response.body).toEqual({
        statusCode: 500,
        error: 'Internal Server Error',
        code: 'INTERNAL_ERROR',
        message: `Internal error (request id ${REQUEST_ID}).`,
      });
      expectNothingInternal(response);
    });

    it('logs an unknown error with the request id, so the 500 can be traced', () => {
      const logger = recordingLogger();
      toErrorResponse(new Error(`boom at ${PATH}`), REQUEST_ID, logger);
      expect(logger.lines).toHaveLength(1);
      expect(logger.lines[0]).toContain(REQUEST_ID);
      expect(logger.lines[0]).toContain('boom');
    });
  });
});
