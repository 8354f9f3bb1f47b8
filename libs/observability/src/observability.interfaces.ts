import type { InjectionToken, ModuleMetadata } from '@nestjs/common';
import type { DestinationStream, Level } from 'pino';

/** Options of `MetricsModule.forRoot` / `forRootAsync`. */
export interface MetricsModuleOptions {
  /**
   * Also collect prom-client's default Node.js and process metrics (event-loop lag, heap, GC,
   * CPU, file descriptors). Default `true`.
   */
  defaultMetrics?: boolean;
  /** Buckets (seconds) of `http_request_duration_seconds`. Default 1 ms to 10 s. */
  httpDurationBuckets?: number[];
}

/**
 * Brings metrics up to date right before a scrape. It may be async; an error is logged and the
 * scrape goes on with the other metrics.
 */
export type MetricsCollector = () => void | Promise<void>;

/** A log level accepted by {@link LoggingModuleOptions.level}. */
export type LogLevelName = Level | 'silent';

/** Options of `LoggingModule.forRoot` / `forRootAsync`. */
export interface LoggingModuleOptions {
  /** Lowest level written. Default `info`; `silent` writes nothing. */
  level?: LogLevelName;
  /**
   * Path prefixes whose requests are logged at `debug` instead of `info` (errors keep their
   * level). Default `['/health', '/metrics']`.
   */
  quietRoutes?: readonly string[];
  /** Extra paths to redact, in pino's syntax (e.g. `req.headers["x-session"]`). */
  redact?: readonly string[];
  /** Where the JSON lines go. Default standard output. */
  destination?: DestinationStream;
}

/** Options of `LoggingModule.forRootAsync`. */
export interface LoggingModuleAsyncOptions {
  /** Modules whose providers {@link useFactory} injects. */
  imports?: ModuleMetadata['imports'];
  /** Tokens passed to {@link useFactory}, in order. */
  inject?: InjectionToken[];
  /** Builds the options from the injected values. */
  useFactory: (...args: never[]) => LoggingModuleOptions | Promise<LoggingModuleOptions>;
}
