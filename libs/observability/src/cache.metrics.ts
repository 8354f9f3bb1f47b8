import { Injectable, Optional } from '@nestjs/common';
import { QueryCache, ResponseCache } from '@lib/query-cache';
import { MetricsService } from './metrics.service';
import { observedCounter, observedGauge } from './stats.metrics';

const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;

/**
 * Query-cache metrics of `@lib/query-cache`, read from `QueryCache.stats()` at scrape time:
 * `query_cache_{hits,misses,errors,bypassed,stale_discarded}_total`, `query_cache_connected`
 * (1 or 0) and `query_cache_breaker_state{state}` (1 for the current state); for the response
 * cache of `@CacheResponse()` routes, `response_cache_{hits,misses,stored,store_checks}_total` and
 * `response_cache_entries`. Registered only when the application has a cache (`QueryCacheModule`
 * registered globally).
 */
@Injectable()
export class CacheMetrics {
  constructor(
    metrics: MetricsService,
    @Optional() cache?: QueryCache,
    @Optional() responses?: ResponseCache,
  ) {
    if (responses) CacheMetrics.registerResponses(metrics, responses);
    if (!cache) return;
    const stats = () => cache.stats();
    const counters = [
      ['hits', 'Reads answered from the cache.', () => stats().hits],
      ['misses', 'Reads that went to the database.', () => stats().misses],
      ['errors', 'Failed or timed-out cache calls.', () => stats().errors],
      ['bypassed', 'Reads that skipped the unavailable cache.', () => stats().bypassed],
      [
        'stale_discarded',
        'Loaded values not stored because a write invalidated them meanwhile.',
        () => stats().staleDiscarded,
      ],
    ] as const;
    for (const [name, help, read] of counters) {
      observedCounter(metrics, `query_cache_${name}_total`, help, read);
    }
    observedGauge(
      metrics,
      'query_cache_connected',
      '1 while the cache store is reachable and its breaker is not open, else 0.',
      () => (stats().connected ? 1 : 0),
    );
    observedGauge(
      metrics,
      'query_cache_breaker_state',
      'State of the cache store breaker: 1 for the current state, 0 for the others.',
      () => {
        const { breaker } = stats();
        return BREAKER_STATES.map((state) => [{ state }, state === breaker ? 1 : 0]);
      },
      ['state'],
    );
  }

  private static registerResponses(metrics: MetricsService, responses: ResponseCache): void {
    const stats = () => responses.stats();
    const counters = [
      ['hits', 'Requests answered with a kept response.', () => stats().hits],
      [
        'early_hits',
        'Of those, requests answered before Fastify routed them.',
        () => stats().earlyHits,
      ],
      [
        'misses',
        'Requests to @CacheResponse() routes that ran their handler.',
        () => stats().misses,
      ],
      ['stored', 'Responses kept.', () => stats().stored],
      [
        'store_checks',
        'Checks of kept responses against the shared store (one MGET each).',
        () => stats().storeChecks,
      ],
    ] as const;
    for (const [name, help, read] of counters) {
      observedCounter(metrics, `response_cache_${name}_total`, help, read);
    }
    observedGauge(metrics, 'response_cache_entries', 'Responses kept now.', () => stats().entries);
  }
}
