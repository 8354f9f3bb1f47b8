import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
// nestjs-pino keeps the request's logger in this AsyncLocalStorage; it is not re-exported by its
// index. Pinned by the package version.
import { Store, storage } from 'nestjs-pino/storage';

/**
 * Keeps the request's logger (and so its `reqId`) in context for the handler. nestjs-pino enters
 * it in a middleware, which Fastify runs in `onRequest`; a request body is read afterwards in the
 * socket's own async context, so for requests with a body the context would be lost before the
 * handler runs. This hook enters it again once the body is parsed.
 */
@Injectable()
export class RequestLogContext implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() !== 'fastify') return;
    adapter.getInstance<FastifyInstance>().addHook('preValidation', (request, _reply, done) => {
      const logger = request.raw.allLogs?.at(-1);
      if (logger === undefined || storage.getStore()?.logger === logger) {
        done();
        return;
      }
      storage.run(new Store(logger), done);
    });
  }
}
