/**
 * The paths `MetricsController` serves, without a leading slash. They sit outside the API's
 * prefix and are operations endpoints: rate limiting and authentication must skip them.
 *
 * @example
 * const unlimited = new Set([...HEALTH_ROUTES, ...METRICS_ROUTES].map((path) => `/${path}`));
 */
export const METRICS_ROUTES = ['metrics'] as const;

/** The `Content-Type` of `GET /metrics`: the Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The `route` label of requests that matched no route (a fixed value keeps cardinality bounded). */
export const UNMATCHED_ROUTE = 'unmatched';

/** Default options, applied where `MetricsModule.forRoot` sets nothing. */
export const METRICS_DEFAULTS = {
  defaultMetrics: true,
  /** Buckets (seconds) of `http_request_duration_seconds`: 1 ms to 10 s. */
  httpDurationBuckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
} as const;

/** Default options, applied where `LoggingModule.forRoot` sets nothing. */
export const LOGGING_DEFAULTS = {
  level: 'info',
  /** Requests under these path prefixes are logged at `debug`, not `info` (probes and scrapes). */
  quietRoutes: ['/health', '/metrics'],
} as const;

/**
 * Log paths always replaced by {@link REDACTED}: credentials in request headers and cookies set by
 * responses. Options may add more.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
] as const;

/** What a redacted value is replaced with in the log. */
export const REDACTED = '[REDACTED]';

/** Injection token of the resolved `LoggingModuleOptions`. */
export const LOGGING_MODULE_OPTIONS = 'OBSERVABILITY:LOGGING_OPTIONS';
