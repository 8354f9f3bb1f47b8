import { randomUUID } from 'node:crypto';
import {
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
  STATUS_CODES,
  createServer,
} from 'node:http';
import type { Socket } from 'node:net';
import type { RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './api-error';
import { parseJsonBody } from './json-body.parser';

/** Longest URL served; longer ones get 414. */
export const MAX_URL_LENGTH = 8192;
/** Default of `HTTP_REQUEST_TIMEOUT_MS`: a request not fully received by then is answered 408. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** How often Node looks for requests past their timeout (its default, 30 s, would double the bound). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** Fastify's default, kept: an idle keep-alive connection is closed after this. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/**
 * Sockets on which the server has answered before the whole request body arrived. Such an answer
 * carries `Connection: close`; whatever follows on the socket (the rest of the body, a framing
 * error, a pipelined request) is never parsed into another answer or another executed request.
 */
const answeredEarly = new WeakSet<Socket>();

const VISIBLE_ASCII = /^[\x21-\x7e]{1,128}$/;

/** Where a request keeps its id once worked out (see {@link requestIdFrom}). */
const REQUEST_ID = Symbol('requestId');

/**
 * Echoes a client's `X-Request-Id` when it is 1..128 visible ASCII characters, else makes one;
 * the same id every time for one request (the server sets it before Fastify asks).
 */
export function requestIdFrom(request: IncomingMessage): string {
  const carrier = request as IncomingMessage & { [REQUEST_ID]?: string };
  let id = carrier[REQUEST_ID];
  if (id === undefined) {
    const header = request.headers['x-request-id'];
    id = typeof header === 'string' && VISIBLE_ASCII.test(header) ? header : randomUUID();
    carrier[REQUEST_ID] = id;
  }
  return id;
}

/**
 * Answers requests the HTTP parser refused (bad framing, oversized headers) with the standard body
 * and closes the connection, so no second request on it is ever executed.
 */
export function clientErrorHandler(
  error: Error & { code?: string; rawPacket?: unknown },
  socket: Socket,
): void {
  if (!socket.writable || answeredEarly.has(socket)) {
    socket.destroy();
    return;
  }
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 408
        : 400;
  // A HEAD request gets the head of the answer only (the bytes read so far tell the method).
  const { rawPacket } = error;
  const head =
    Buffer.isBuffer(rawPacket) && rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ';
  answerAndClose(socket, status, 'The request could not be read.', head);
}

/** Writes one standard error response on a raw socket and closes it; nothing after is served. */
function answerAndClose(socket: Socket, status: number, message: string, head = false): void {
  answeredEarly.add(socket);
  const body = JSON.stringify(
    errorBody(status, status === 408 ? 'REQUEST_TIMEOUT' : 'VALIDATION_FAILED', message),
  );
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\n` +
      `X-Request-Id: ${randomUUID()}\r\nConnection: close\r\n\r\n${head ? '' : body}`,
  );
}

/**
 * Whether a request's body framing is unambiguous. Node accepts a `Transfer-Encoding` that a
 * proxy in front may read differently (`chunked` repeated, or followed by an empty value); this
 * API only takes exactly one `Transfer-Encoding: chunked` (Node itself refuses it beside a
 * `Content-Length`).
 */
function unambiguousFraming({ headers, rawHeaders }: IncomingMessage): boolean {
  const encoding = headers['transfer-encoding'];
  if (encoding === undefined) return true;
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === 'transfer-encoding') count++;
  }
  return count === 1 && encoding.trim().toLowerCase() === 'chunked';
}

/**
 * Answers some requests in the server's listener, before Fastify (see `EarlyAnswers`), with
 * {@link standardHeaders} as every response has them.
 */
export interface EarlyAnswerer {
  /** True when it answered `request` (whose request id is `id`); false leaves it to Fastify. */
  answer(request: IncomingMessage, response: ServerResponse, id: string): boolean;
}

/** The headers of every response, as a flat `[name, value, …]` list: request id and `nosniff`. */
export function standardHeaders(id: string): string[] {
  return ['x-request-id', id, 'x-content-type-options', 'nosniff'];
}

/**
 * Fastify's `serverFactory`: Node's HTTP server with a bound on the time to receive a whole
 * request (`HTTP_REQUEST_TIMEOUT_MS`, answered 408 by {@link clientErrorHandler}), checked every
 * second; ambiguous framing refused with 400; no request executed from a socket that was
 * answered early (see {@link hardenFastify}); and, after those checks and the standard headers,
 * `early` offered each request before Fastify.
 */
export function httpServerFactory(requestTimeoutMs: number, early?: EarlyAnswerer) {
  return (handler: RequestListener): Server => {
    const server = createServer(
      { requestTimeout: requestTimeoutMs, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
      (request, response) => {
        if (answeredEarly.has(request.socket)) return void request.socket.destroy();
        if (!unambiguousFraming(request)) {
          answerAndClose(request.socket, 400, 'Transfer-Encoding must be exactly "chunked".');
          return;
        }
        // On every response, including those Fastify sends without running the application's
        // hooks (a 404 for a method no route serves on a malformed path).
        const id = requestIdFrom(request);
        if (early?.answer(request, response, id)) return;
        const headers = standardHeaders(id);
        for (let i = 0; i < headers.length; i += 2) response.setHeader(headers[i], headers[i + 1]);
        handler(request, response);
      },
    );
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    return server;
  };
}

/** Whether a request announces a body (a `Content-Length` above 0, or any `Transfer-Encoding`). */
function announcesBody({ headers }: IncomingMessage): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
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
 * (anything else is 415), request-id and `nosniff` headers on every response, a URL length cap,
 * and `Connection: close` on an answer sent before the body was read.
 */
export function hardenFastify(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_r, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  const state = { closing: false };
  fastify.addHook('preClose', (done) => {
    state.closing = true;
    done();
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (screenRequest(request, reply, state.closing)) done();
  });
  // An answer sent before the whole body arrived (415, 413, 414, 429, 401 …) closes the
  // connection: the unread rest of the body must never be parsed as a request of its own.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const raw = request.raw;
    if (!raw.complete && announcesBody(raw)) {
      answeredEarly.add(raw.socket);
      void reply.header('connection', 'close');
    }
    done(null, payload);
  });
  fastify.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined && ['POST', 'PUT', 'PATCH'].includes(request.method))
      request.body = {};
    done();
  });
}

/**
 * The first look at every request: the standard headers, a 503 while shutting down, a 414 for a
 * URL over the limit. Returns false when it answered the request itself.
 */
function screenRequest(request: FastifyRequest, reply: FastifyReply, closing: boolean): boolean {
  void reply.header('x-request-id', request.id);
  void reply.header('x-content-type-options', 'nosniff');
  const json = 'application/json; charset=utf-8';
  if (closing) {
    // Shutting down: requests that arrive on open keep-alive connections are turned away.
    void reply
      .status(503)
      .header('connection', 'close')
      .header('retry-after', '1')
      .type(json)
      .send(errorBody(503, 'DATABASE_UNAVAILABLE', 'The server is shutting down; retry.'));
    return false;
  }
  // A request without a body is not checked for its Content-Type (API.md §2).
  const headers = request.headers;
  if (headers['content-length'] === '0' && headers['transfer-encoding'] === undefined) {
    delete headers['content-type'];
  }
  if (request.url.length > MAX_URL_LENGTH) {
    const message = `The URL is longer than ${MAX_URL_LENGTH} characters.`;
    void reply
      .status(414)
      .type(json)
      .send(errorBody(414, 'URI_TOO_LONG', message));
    return false;
  }
  return true;
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
