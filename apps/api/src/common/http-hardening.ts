import { randomUUID } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './api-error';
import { parseJsonBody } from './json-body.parser';

/** Longest URL served; longer ones get 414. */
export const MAX_URL_LENGTH = 8192;
/** A request not fully received within this is answered 408. */
export const REQUEST_TIMEOUT_MS = 30_000;

const VISIBLE_ASCII = /^[\x21-\x7e]{1,128}$/;

/** Echoes a client's `X-Request-Id` when it is 1..128 visible ASCII characters, else makes one. */
export function requestIdFrom(request: IncomingMessage): string {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && VISIBLE_ASCII.test(header) ? header : randomUUID();
}

/**
 * Answers requests the HTTP parser refused (bad framing, oversized headers) with the standard body
 * and closes the connection, so no second request on it is ever executed.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 408
        : 400;
  const body = JSON.stringify(
    errorBody(
      status,
      status === 408 ? 'REQUEST_TIMEOUT' : 'VALIDATION_FAILED',
      'The request could not be read.',
    ),
  );
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\n` +
      `X-Request-Id: ${randomUUID()}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Errors Fastify's router raises before any route or hook runs (a malformed percent-encoding, a
 * path parameter over `maxParamLength`): the standard body, the standard headers, no echo.
 */
export function frameworkErrors(
  error: { code?: string },
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  void reply
    .status(tooLong ? 414 : 400)
    .header('x-request-id', request.id)
    .header('x-content-type-options', 'nosniff')
    .type('application/json; charset=utf-8')
    .send(
      tooLong
        ? errorBody(414, 'URI_TOO_LONG', 'A path segment is too long.')
        : errorBody(400, 'VALIDATION_FAILED', 'The URL is malformed.'),
    );
}

/**
 * Request handling that Fastify leaves to the application: a strict JSON-only body parser
 * (anything else is 415), request-id and `nosniff` headers on every response, and a URL length cap.
 */
export function hardenFastify(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    (_request, body, done) => {
      try {
        done(null, parseJsonBody(body as Buffer));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    void reply.header('x-content-type-options', 'nosniff');
    if (closing) {
      // Shutting down: requests that arrive on open keep-alive connections are turned away.
      void reply
        .status(503)
        .header('connection', 'close')
        .header('retry-after', '1')
        .type('application/json; charset=utf-8')
        .send(errorBody(503, 'DATABASE_UNAVAILABLE', 'The server is shutting down; retry.'));
      return;
    }
    // A request without a body is not checked for its Content-Type (API.md §2).
    const headers = request.headers;
    if (headers['content-length'] === '0' && headers['transfer-encoding'] === undefined) {
      delete headers['content-type'];
    }
    if (request.url.length > MAX_URL_LENGTH) {
      void reply
        .status(414)
        .type('application/json; charset=utf-8')
        .send(
          errorBody(414, 'URI_TOO_LONG', `The URL is longer than ${MAX_URL_LENGTH} characters.`),
        );
      return;
    }
    done();
  });
  fastify.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined && ['POST', 'PUT', 'PATCH'].includes(request.method))
      request.body = {};
    done();
  });
}

/**
 * `RATE_LIMIT_PER_MINUTE`: requests per client address across all of `/api/v1` in any 60 s
 * (operations endpoints are never limited); past it, 429 `RATE_LIMITED` with `Retry-After`.
 */
export function rateLimitOptions(perMinute: number): RateLimitPluginOptions {
  return {
    max: perMinute,
    timeWindow: 60_000,
    hook: 'onRequest',
    // The matched route, not the raw URL (which may be percent-encoded).
    allowList: (request) => !(request.routeOptions?.url ?? request.url).startsWith('/api/v1/'),
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`Too many requests; retry in ${Math.ceil(context.ttl / 1000)} s.`), {
        statusCode: 429,
        expose: true,
      }),
  };
}
