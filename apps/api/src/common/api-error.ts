import { STATUS_CODES } from 'node:http';
import { HttpException } from '@nestjs/common';

/** Stable, machine-readable error codes of the public contract (API.md §2, Errors). */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'REQUEST_TIMEOUT'
  | 'SLOT_TAKEN'
  | 'TRANSACTION_CONFLICT'
  | 'VERSION_MISMATCH'
  | 'PAYLOAD_TOO_LARGE'
  | 'URI_TOO_LONG'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'DATABASE_UNAVAILABLE'
  | 'STREAM_LIMIT'
  | 'INTERNAL_ERROR'
  | 'DATABASE_TIMEOUT';

/** The error body every error response carries. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  code: ErrorCode;
  message: string | string[];
  [extra: string]: unknown;
}

/** The code a bare HTTP status maps to when nothing more specific is known. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'VALIDATION_FAILED';
    case 401:
      return 'UNAUTHORIZED';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 408:
      return 'REQUEST_TIMEOUT';
    case 409:
      return 'SLOT_TAKEN';
    case 412:
      return 'VERSION_MISMATCH';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 414:
      return 'URI_TOO_LONG';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 429:
      return 'RATE_LIMITED';
    case 503:
      return 'DATABASE_UNAVAILABLE';
    case 504:
      return 'DATABASE_TIMEOUT';
    default:
      return status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_FAILED';
  }
}

/** Builds the standard error body. A 400 message is always an array (at most 20 entries). */
export function errorBody(
  status: number,
  code: ErrorCode,
  message: string | string[],
  extra: Record<string, unknown> = {},
): ErrorBody {
  const normalized =
    status === 400 ? (Array.isArray(message) ? message : [message]).slice(0, 20) : message;
  return {
    statusCode: status,
    error: STATUS_CODES[status] ?? 'Error',
    code,
    message: normalized,
    ...extra,
  };
}

/**
 * An error with a contract code. Throw it from services and controllers; the global filter turns it
 * into the standard body.
 *
 * @example throw new ApiError(409, 'SLOT_TAKEN', 'Slot chat_deep/1 is already taken.');
 */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: ErrorCode,
    message: string | string[],
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(errorBody(status, code, message, extra), status);
  }

  /** 404 `NOT_FOUND` with a message that does not echo the caller's input. */
  static notFound(what = 'Resource', extra?: Record<string, unknown>): ApiError {
    return new ApiError(404, 'NOT_FOUND', `${what} not found.`, extra);
  }

  /** 400 `VALIDATION_FAILED` naming the offending fields. */
  static validation(messages: string[]): ApiError {
    return new ApiError(400, 'VALIDATION_FAILED', messages);
  }

  /** 412 `VERSION_MISMATCH`. */
  static versionMismatch(message = 'If-Match does not name the current version.'): ApiError {
    return new ApiError(412, 'VERSION_MISMATCH', message);
  }
}
