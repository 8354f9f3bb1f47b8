import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type LogLevel as NestLogLevel, Logger } from '@nestjs/common';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyServerOptions } from 'fastify';
import { JsonLogger } from '@lib/observability';
import { DatabaseExceptionHandler } from '@lib/resilience';
import { AppModule } from './app.module';
import { errorBody } from './common/api-error';
import { HttpExceptionFilter } from './common/http-exception.filter';
import {
  clientErrorHandler,
  type EarlyAnswerer,
  frameworkErrors,
  hardenFastify,
  httpServerFactory,
  rateLimitOptions,
  requestIdFrom,
} from './common/http-hardening';
import { EarlyAnswers } from './common/early-answers';
import { createValidationPipe } from './common/validation';
import { type AppConfig, type LogLevel, loadConfig } from './config/app-config';

const NEST_LEVELS: Record<LogLevel, NestLogLevel[] | false> = {
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
  silent: false,
};

/**
 * The options `createApp` gives Nest's `FastifyAdapter` (Fastify's server options, HTTP/1) for
 * `config`: body and parameter limits, request ids, Node's server with its request timeout, the
 * client and framework error handlers. The benchmarks' bare Nest + Fastify app uses them too.
 *
 * @example
 * const adapter = new FastifyAdapter(fastifyAdapterOptions(loadConfig(process.env)));
 */
export function fastifyAdapterOptions(
  config: AppConfig,
  early?: EarlyAnswerer,
): FastifyServerOptions {
  return {
    bodyLimit: config.bodyLimit,
    routerOptions: { maxParamLength: 1024 },
    requestIdHeader: false,
    genReqId: requestIdFrom,
    // Node's server, made here: a bound on receiving a whole request, and no request executed
    // after an early answer on the same connection.
    serverFactory: httpServerFactory(config.requestTimeoutMs, early),
    // Requests arriving while closing get the standard body from hardenFastify's hook.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    clientErrorHandler,
    frameworkErrors,
  };
}

/** The admin page may load only what the app itself serves (no CDN, no fonts, no frames). */
const ADMIN_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/**
 * Where `npm run build` writes the admin page (`dist/admin`): this file runs from
 * `dist/apps/api/src` when built, from `apps/api/src` under ts-node and Jest.
 */
export function defaultAdminDir(): string {
  const root = resolve(__dirname, '..', '..', '..');
  return basename(root) === 'dist' ? join(root, 'admin') : join(root, 'dist', 'admin');
}

/**
 * Serves the admin page (apps/admin, built by `vite build`) at `/admin/` from `ADMIN_DIST_DIR`
 * (default {@link defaultAdminDir}); when it is not built, `/admin` answers 404 saying so.
 * A second `@fastify/static` beside Swagger's `/docs` one, hence `decorateReply: false`.
 */
async function serveAdmin(app: NestFastifyApplication, env: NodeJS.ProcessEnv): Promise<void> {
  const configured = env.ADMIN_DIST_DIR?.trim();
  const root = configured ? resolve(configured) : defaultAdminDir();
  const fastify = app.getHttpAdapter().getInstance();
  if (!existsSync(join(root, 'index.html'))) {
    const body = errorBody(404, 'NOT_FOUND', 'The admin page is not built: run `npm run build`.');
    for (const url of ['/admin', '/admin/*']) {
      fastify.get(url, (_request, reply) => {
        void reply.status(404).type('application/json; charset=utf-8').send(body);
      });
    }
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/admin', // and /admin redirects to /admin/
    decorateReply: false,
    redirect: true,
    cacheControl: false,
    setHeaders: (response, path) => {
      void response.header('content-security-policy', ADMIN_CSP);
      // Hashed file names under assets/ never change; index.html must be revalidated.
      const hashed = path.startsWith(join(root, 'assets'));
      void response.header(
        'cache-control',
        hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}

/**
 * Builds the whole application for an environment (validated first) without listening: the
 * Fastify adapter with its limits, the global pipe and filter, Swagger at `/docs`, the admin page
 * at `/admin/` (`ADMIN_DIST_DIR`, default `dist/admin`). Tests call it
 * with their own environment; `main.ts` with `process.env`.
 */
export async function createApp(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ app: NestFastifyApplication; config: AppConfig }> {
  const config = loadConfig(env);
  const early = new EarlyAnswers();
  const adapter = new FastifyAdapter(fastifyAdapterOptions(config, early));
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bodyParser: false,
    abortOnError: false,
    logger: NEST_LEVELS[config.logLevel],
    // Held until the JSON logger is attached below; printed by the console logger if startup fails.
    bufferLogs: true,
  });
  app.useLogger(app.get(JsonLogger));
  app.flushLogs();
  hardenFastify(app.getHttpAdapter().getInstance());
  if (config.rateLimitPerMinute !== undefined) {
    await app.register(fastifyRateLimit, rateLimitOptions(config.rateLimitPerMinute));
  } else {
    // Kept responses answered before Fastify; with rate limiting its hook must see every request.
    early.enable(app);
  }
  await serveAdmin(app, env);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter(app.get(DatabaseExceptionHandler)));

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Model config service')
      .setDescription('Which LLM model serves each usage type, and the fallbacks behind it.')
      .setVersion('1')
      .addBearerAuth(undefined, 'bearer')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });

  if (config.apiKeys.length === 0) {
    new Logger('Auth').warn(
      'API_KEY and API_KEYS are not set: writes under /api/v1 are open to anyone who can reach the port.',
    );
  }
  return { app, config };
}
