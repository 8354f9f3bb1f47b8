import { type LogLevel as NestLogLevel, Logger } from '@nestjs/common';
import fastifyRateLimit from '@fastify/rate-limit';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { JsonLogger } from '@lib/observability';
import { DatabaseExceptionHandler } from '@lib/resilience';
import { AppModule } from './app.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import {
  REQUEST_TIMEOUT_MS,
  clientErrorHandler,
  frameworkErrors,
  hardenFastify,
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
 * Builds the whole application for an environment (validated first) without listening: the
 * Fastify adapter with its limits, the global pipe and filter, Swagger at `/docs`. Tests call it
 * with their own environment; `main.ts` with `process.env`.
 */
export async function createApp(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ app: NestFastifyApplication; config: AppConfig }> {
  const config = loadConfig(env);
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimit,
    routerOptions: { maxParamLength: 1024 },
    requestIdHeader: false,
    genReqId: requestIdFrom,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // On Node 20 only the server's own option bounds the time to receive a body.
    http: { requestTimeout: REQUEST_TIMEOUT_MS },
    // Requests arriving while closing get the standard body from hardenFastify's hook.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    clientErrorHandler,
    frameworkErrors,
  });
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

  if (config.apiKey === undefined) {
    new Logger('Auth').warn(
      'API_KEY is not set: writes under /api/v1 are open to anyone who can reach the port.',
    );
  }
  return { app, config };
}
