import { type LogLevel as NestLogLevel, Logger } from '@nestjs/common';
import fastifyRateLimit from '@fastify/rate-limit';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyServerOptions } from 'fastify';
import { JsonLogger } from '@lib/observability';
import { DatabaseExceptionHandler } from '@lib/resilience';
import { AppModule } from './app.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import {
  clientErrorHandler,
  frameworkErrors,
  hardenFastify,
  httpServerFactory,
  rateLimitOptions,
  requestIdFrom,
} from './common/http-hardening';
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
export function fastifyAdapterOptions(config: AppConfig): FastifyServerOptions {
  return {
    bodyLimit: config.bodyLimit,
    routerOptions: { maxParamLength: 1024 },
    requestIdHeader: false,
    genReqId: requestIdFrom,
    // Node's server, made here: a bound on receiving a whole request, and no request executed
    // after an early answer on the same connection.
    serverFactory: httpServerFactory(config.requestTimeoutMs),
    // Requests arriving while closing get the standard body from hardenFastify's hook.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    clientErrorHandler,
    frameworkErrors,
  };
}

/**
 * Builds the whole application for an environment (validated first) without listening: the
 * Fastify adapter with its limits, the global pipe and filter, Swagger at `/docs`. Tests call it
 * with their own environment; `main.ts` with `process.env`.
 */
export async function createApp(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ app: NestFastifyApplication; config: AppConfig }> {
  const config = loadConfig(env);
  const adapter = new FastifyAdapter(fastifyAdapterOptions(config));
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
  }
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
