export { QueryCacheModule } from './query-cache.module';
export { QUERY_CACHE_MODULE_OPTIONS } from './query-cache.module-definition';
export { QUERY_CACHE_DEFAULTS } from './query-cache.constants';
export { QueryCache } from './query-cache.service';
export { CACHE_RESPONSE_CONFIG, CacheResponse, ResponseCache } from './response-cache';
export { StoreBreaker, type BreakerState } from './store-breaker';
export type {
  GetOrLoadOptions,
  QueryCacheModuleOptions,
  QueryCacheStats,
  ResponseCacheStats,
} from './query-cache.interfaces';
