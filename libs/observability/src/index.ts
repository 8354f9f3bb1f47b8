export { MetricsModule } from './metrics.module';
export { METRICS_MODULE_OPTIONS } from './metrics.module-definition';
export { MetricsService } from './metrics.service';
export { MetricsController } from './metrics.controller';
export { HttpMetrics } from './http.metrics';
export { DatabaseMetrics } from './database.metrics';
export { CacheMetrics } from './cache.metrics';
export {
  observedCounter,
  observedGauge,
  observedLabelledCounter,
  type Sample,
} from './stats.metrics';
export { LoggingModule } from './logging.module';
export { createPinoParams, redactUrl, requestLogLevel } from './logging.options';
export {
  LOGGING_DEFAULTS,
  LOGGING_MODULE_OPTIONS,
  METRICS_DEFAULTS,
  METRICS_ROUTES,
  PROMETHEUS_CONTENT_TYPE,
  REDACTED,
  REDACT_PATHS,
  UNMATCHED_ROUTE,
} from './observability.constants';
export type {
  LogLevelName,
  LoggingModuleAsyncOptions,
  LoggingModuleOptions,
  MetricsCollector,
  MetricsModuleOptions,
} from './observability.interfaces';
/** The Nest `LoggerService` that writes through pino: `app.useLogger(app.get(JsonLogger))`. */
export { Logger as JsonLogger } from 'nestjs-pino';
export { LONG_LIVED_ROUTE, RequestLogger } from './request.logger';
