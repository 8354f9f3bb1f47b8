import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { RequestLogger } from './request.logger';
import { createPinoParams } from './logging.options';
import { LOGGING_MODULE_OPTIONS } from './observability.constants';
import type { LoggingModuleAsyncOptions, LoggingModuleOptions } from './observability.interfaces';

/**
 * Structured JSON logs through pino (`nestjs-pino`): one JSON object per line on standard output,
 * `reqId` (the `X-Request-Id` of the response) on every line logged while serving a request, one
 * completion line per request (`info`; `debug` under `/health` and `/metrics`; `warn` for 4xx,
 * `error` for 5xx), credentials redacted, request bodies never logged.
 *
 * Route Nest's own logging through it: create the app with `bufferLogs: true`, then
 * `app.useLogger(app.get(JsonLogger))` and `app.flushLogs()`.
 *
 * Requests are logged from Fastify hooks ({@link RequestLogger}), not by pino-http middleware.
 * nestjs-pino keeps one logger per process for the lines Nest's `Logger` writes: in a process that
 * builds several applications (tests), the first one's level and destination apply to those
 * lines; completion lines use each application's own.
 *
 * @example
 * LoggingModule.forRootAsync({
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ level: config.getOrThrow('logLevel') }),
 * })
 */
@Module({})
export class LoggingModule {
  /** Registers the logger with fixed options. */
  static forRoot(options: LoggingModuleOptions = {}): DynamicModule {
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot(createPinoParams(options))],
      providers: [{ provide: LOGGING_MODULE_OPTIONS, useValue: options }, RequestLogger],
      exports: [LoggerModule, RequestLogger],
    };
  }

  /** Registers the logger with options built by a factory (e.g. from `ConfigService`). */
  static forRootAsync(options: LoggingModuleAsyncOptions): DynamicModule {
    const optionsProvider = {
      provide: LOGGING_MODULE_OPTIONS,
      inject: options.inject,
      useFactory: options.useFactory as (
        ...args: unknown[]
      ) => LoggingModuleOptions | Promise<LoggingModuleOptions>,
    };
    return {
      module: LoggingModule,
      imports: [
        ...(options.imports ?? []),
        LoggerModule.forRootAsync({
          imports: options.imports,
          providers: [optionsProvider],
          inject: [LOGGING_MODULE_OPTIONS],
          useFactory: (resolved: LoggingModuleOptions) => createPinoParams(resolved),
        }),
      ],
      providers: [optionsProvider, RequestLogger],
      exports: [LoggerModule, RequestLogger],
    };
  }
}
