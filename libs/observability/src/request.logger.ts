import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import type { Level } from 'pino';
import { requestLogLevel } from './logging.options';
import { LOGGING_DEFAULTS, LOGGING_MODULE_OPTIONS } from './observability.constants';
import type { LoggingModuleOptions } from './observability.interfaces';
import { requestIds } from './request-context';

/**
 * The Fastify route-config flag of long-lived responses (streams): a client leaving ends them
 * normally. `@RouteConfig({ [LONG_LIVED_ROUTE]: true })` in Nest.
 */
export const LONG_LIVED_ROUTE = 'longLived';

/**
 * Request logging in Fastify hooks: every line logged while a request is served carries its
 * `reqId` (an `onRequest` hook runs the rest of the request in an `AsyncLocalStorage` context the
 * logger's mixin reads), and every answered request gets one completion line from an
 * `onResponse` hook, refused ones included (a malformed URL, a URL over the length limit answered
 * by an earlier hook). A client that goes away first gets a `request aborted` line (an `info`
 * `stream closed` line on routes whose Fastify route config sets {@link LONG_LIVED_ROUTE}, such
 * as Server-Sent-Event streams).
 *
 * This replaces the pino-http middleware nestjs-pino would install: that builds a redacted child
 * logger for every request behind Fastify's middleware layer, 25–35 µs of CPU per request even
 * when nothing is written, more than serving a cached read. Nothing is installed when silent.
 */
@Injectable()
export class RequestLogger implements OnModuleInit {
  private readonly quietRoutes: readonly string[];

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(LOGGING_MODULE_OPTIONS) private readonly options: LoggingModuleOptions,
  ) {
    this.quietRoutes = options.quietRoutes ?? LOGGING_DEFAULTS.quietRoutes;
  }

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() !== 'fastify' || this.options.level === 'silent') return;
    const fastify = adapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => {
      // Open until the response is sent or the connection closes.
      reply.raw.once('close', requestIds.runUntilClosed(String(request.id), done));
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      this.completed(request, reply);
      done();
    });
    fastify.addHook('onRequestAbort', (request, done) => {
      // The client ending a stream (a route marked `longLived`) is how streams end: not a warning.
      const config = request.routeOptions?.config as unknown as Record<string, unknown> | undefined;
      if (config?.[LONG_LIVED_ROUTE] === true)
        this.log('info', request, undefined, 'stream closed');
      else this.log('warn', request, undefined, 'request aborted');
      done();
    });
  }

  /**
   * The completion line of a request answered outside Fastify's hooks (from the server's own
   * listener, such as a kept response sent by `ResponseCache.answerEarly`): the line Fastify's
   * `onResponse` hook writes for the others, with `id` as its request id.
   */
  logAnswered(
    id: string,
    request: IncomingMessage,
    response: ServerResponse,
    elapsedMs: number,
  ): void {
    if (this.options.level === 'silent') return;
    const level = requestLogLevel(this.quietRoutes, request.url, response.statusCode) as Level;
    const req = {
      id,
      method: request.method,
      url: request.url,
      headers: request.headers,
      socket: request.socket,
    };
    this.write(level, id, req, response, elapsedMs, 'request completed');
  }

  private completed(request: FastifyRequest, reply: FastifyReply): void {
    const level = requestLogLevel(this.quietRoutes, request.url, reply.statusCode);
    this.log(level as Level, request, reply, 'request completed');
  }

  private log(
    level: Level,
    request: FastifyRequest,
    reply: FastifyReply | undefined,
    message: string,
  ): void {
    this.write(level, String(request.id), request, reply?.raw, reply?.elapsedTime, message);
  }

  private write(
    level: Level,
    reqId: string,
    req: object,
    res: ServerResponse | undefined,
    elapsedMs: number | undefined,
    message: string,
  ): void {
    const root = PinoLogger.root as PinoLogger['logger'] | undefined;
    if (!root?.isLevelEnabled(level)) return;
    // `req` has what pino's request serializer reads (id, method, url, headers, socket).
    root[level](
      {
        reqId,
        req,
        ...(res ? { res, responseTime: Math.round(elapsedMs ?? 0) } : {}),
      },
      message,
    );
  }
}
