import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Rendered } from './cache';

/** An error answered with the API's error body. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  409: 'Conflict',
  412: 'Precondition Failed',
  500: 'Internal Server Error',
};

/** Answers every error with `{statusCode, error, code, message}`. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpError, _request, reply) => {
    let status = 500;
    let code = 'INTERNAL_ERROR';
    let message: string | string[] = 'Internal server error';
    if (error instanceof HttpError) {
      status = error.statusCode;
      code = error.code;
      message = error.message;
    } else if (error.validation) {
      status = 400;
      code = 'VALIDATION_FAILED';
      message = [error.message];
    } else if (error.statusCode && error.statusCode < 500) {
      status = error.statusCode;
      code = 'VALIDATION_FAILED';
      message = error.message;
    }
    void reply
      .status(status)
      .send({ statusCode: status, error: REASONS[status] ?? 'Error', code, message });
  });
}

/** Sends a rendered answer, or 404 when there is none. */
export function sendRendered(reply: FastifyReply, rendered: Rendered | undefined): FastifyReply {
  if (!rendered) throw new HttpError(404, 'NOT_FOUND', 'Model config not found.');
  if (rendered.etag) void reply.header('etag', rendered.etag);
  return reply.type('application/json; charset=utf-8').send(rendered.body);
}

/** `If-Match`: `*`, or the versions it lists (`"3"`, `W/"3"`, `3`); undefined without one. */
export function parseIfMatch(header: string | undefined): '*' | number[] | undefined {
  if (header === undefined) return undefined;
  if (header.trim() === '*') return '*';
  return header.split(',').map((part) => {
    const match = /^(?:W\/)?"(\d{1,9})"$|^(\d{1,9})$/.exec(part.trim());
    if (!match) throw new HttpError(400, 'VALIDATION_FAILED', 'If-Match is malformed');
    return Number(match[1] ?? match[2]);
  });
}

const SLUG = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_.-]*$' };
const TEXT = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  pattern: '^[^\\u0000-\\u001f\\u007f]*$',
};

/** JSON schemas of the routes (Fastify compiles them once). */
export const SCHEMAS = {
  usageTypeParams: {
    type: 'object',
    required: ['usageType'],
    properties: { usageType: SLUG },
  },
  idParams: {
    type: 'object',
    required: ['id'],
    properties: { id: { type: 'string', format: 'uuid' } },
  },
  listQuery: {
    type: 'object',
    additionalProperties: false,
    properties: {
      usageType: SLUG,
      provider: SLUG,
      enabled: { type: 'boolean' },
      limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
      offset: { type: 'integer', minimum: 0, default: 0 },
    },
  },
  patchBody: {
    type: 'object',
    additionalProperties: false,
    properties: {
      usageType: SLUG,
      priority: { type: 'integer', minimum: 1, maximum: 1000 },
      modelId: TEXT,
      modelName: TEXT,
      provider: SLUG,
      parameters: { type: 'object' },
      enabled: { type: 'boolean' },
    },
  },
  chainBody: {
    type: 'object',
    required: ['items'],
    additionalProperties: false,
    properties: {
      items: {
        type: 'array',
        minItems: 1,
        maxItems: 100,
        items: {
          type: 'object',
          required: ['modelId', 'modelName', 'provider'],
          additionalProperties: false,
          properties: {
            modelId: TEXT,
            modelName: TEXT,
            provider: SLUG,
            parameters: { type: 'object' },
            enabled: { type: 'boolean' },
          },
        },
      },
    },
  },
} as const;
