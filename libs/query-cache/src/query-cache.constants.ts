/** Defaults of {@link QueryCacheModuleOptions}. */
export const QUERY_CACHE_DEFAULTS = {
  store: 'memory',
  redisUrl: 'redis://127.0.0.1:6379',
  namespace: 'query-cache',
  ttlMs: 300_000,
  opTimeoutMs: 50,
  maxEntries: 10_000,
  breakerThreshold: 5,
  breakerResetMs: 2_000,
} as const;

/** Injection token of the store handle (Keyv instance and, for Redis, its client). */
export const QUERY_CACHE_STORE = 'QUERY_CACHE:STORE';
