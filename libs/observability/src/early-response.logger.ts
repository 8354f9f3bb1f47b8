import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { requestLogLevel } from './logging.options';
import { LOGGING_DEFAULTS, LOGGING_MODULE_OPTIONS } from './observability.constants';
import type { LoggingModuleOptions } from './observability.interfaces';

/**
 * Logs the requests Fastify answers before the logging middleware runs (a malformed URL, a URL
 * over the length limit answered by an earlier `onRequest` hook), so that every answered request
 * has its completion line, refused ones included.
 */
@Injectable()
export class EarlyResponseLogger implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(LOGGING_MODULE_OPTIONS) private readonly options: LoggingModuleOptions,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() !== 'fastify' || this.options.level === 'silent') return;
    adapter.getInstance<FastifyInstance>().addHook('onResponse', (request, reply, done) => {
      // pino-http marks the raw requests it saw; it logs those itself.
      if (!('allLogs' in request.raw)) this.log(request, reply);
      done();
    });
  }

  private log(request: FastifyRequest, reply: FastifyReply): void {
    const root = PinoLogger.root as PinoLogger['logger'] | undefined;
    if (!root) return;
    const level = requestLogLevel(
      this.options.quietRoutes ?? LOGGING_DEFAULTS.quietRoutes,
      request.url,
      reply.statusCode,
    );
    // The Fastify request has what pino's request serializer reads (id, method, url, headers, socket).
    root
      .child({ reqId: request.id })
      [level](
        { req: request, res: reply.raw, responseTime: Math.round(reply.elapsedTime) },
        'request completed',
      );
  }
}
