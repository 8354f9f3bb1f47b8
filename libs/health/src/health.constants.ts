/** Default options, applied where `HealthModule.forRoot` sets nothing. */
export const HEALTH_DEFAULTS = {
  databaseTimeoutMs: 2_000,
  poolTimeoutThreshold: 3,
  poolTimeoutWindowMs: 30_000,
} as const;

/**
 * The paths `HealthController` serves, without a leading slash. They sit outside the API's global
 * prefix: pass them to `setGlobalPrefix(prefix, { exclude: HEALTH_ROUTES })`, and skip them in rate
 * limiting (operations endpoints are never limited).
 *
 * @example
 * app.setGlobalPrefix('api/v1', { exclude: [...HEALTH_ROUTES] });
 */
export const HEALTH_ROUTES = [
  'health',
  'health/live',
  'health/database',
  'health/pool',
  'health/cache',
  'health/circuits',
] as const;

/** The value of `Cache-Control` on every health response: probes must never be answered from a cache. */
export const HEALTH_CACHE_CONTROL = 'no-cache, no-store, must-revalidate';
