/** Options of `QueryCacheModule.forRoot` / `forRootAsync`. */
export interface QueryCacheModuleOptions {
  /** `memory` (a bounded LRU in this process) or `redis` (shared, outlives restarts). Default `memory`. */
  store?: 'memory' | 'redis';
  /** Redis URL, for `store: 'redis'`. Default `redis://127.0.0.1:6379`. */
  redisUrl?: string;
  /** Key prefix, so several services can share one Redis. Default `query-cache`. */
  namespace?: string;
  /** Time to live of cached values. Default 300000 ms. */
  ttlMs?: number;
  /** A cache call slower than this counts as a failed call and a miss. Default 50 ms. */
  opTimeoutMs?: number;
  /** Entries kept by the memory store (least recently used evicted). Default 10000. */
  maxEntries?: number;
  /** Consecutive failed cache calls that open the breaker (the cache is then bypassed). Default 5. */
  breakerThreshold?: number;
  /** How long the breaker stays open before one trial call. Default 2000 ms. */
  breakerResetMs?: number;
}

/** Options of one `getOrLoad` call. */
export interface GetOrLoadOptions {
  /** Tags to invalidate the entry by (e.g. `usage-type:chat_deep`). */
  tags: readonly string[];
  /** Overrides the module's `ttlMs`. */
  ttlMs?: number;
}

/** Counters of the response cache of `@CacheResponse()` routes. */
export interface ResponseCacheStats {
  /** Requests answered with a kept response. */
  hits: number;
  /** Of those, requests answered before Fastify routed them (`ResponseCache.answerEarly`). */
  earlyHits: number;
  /** Requests to `@CacheResponse()` routes that ran their handler. */
  misses: number;
  /** Responses kept. */
  stored: number;
  /** Responses kept now. */
  entries: number;
  /** Checks of kept responses against a shared store's tokens (one `MGET` each). */
  storeChecks: number;
}

/** Counters of the cache, the body of `GET /health/cache`. */
export interface QueryCacheStats {
  store: 'memory' | 'redis';
  /** False while the store is unreachable or the breaker is open. */
  connected: boolean;
  hits: number;
  misses: number;
  /** hits / (hits + misses), 0 when there were none. */
  hitRatio: number;
  /** Failed or timed-out cache calls. */
  errors: number;
  /** Reads that skipped the cache because it was unavailable. */
  bypassed: number;
  /** Values a loader read but did not store, because a write invalidated them meanwhile. */
  staleDiscarded: number;
  /** Breaker state of the store. */
  breaker: 'closed' | 'open' | 'half-open';
}
