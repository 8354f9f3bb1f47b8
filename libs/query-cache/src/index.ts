export { QueryCacheModule } from './query-cache.module';
export { QUERY_CACHE_MODULE_OPTIONS } from './query-cache.module-definition';
export { QUERY_CACHE_DEFAULTS } from './query-cache.constants';
export { QueryCache } from './query-cache.service';
export {
  ReadTracking,
  type ReadObserver,
  type StoreTokens,
  type TrackedRead,
} from './read-tracking';
export { type TagSnapshot } from './tag-versions';
export {
  CACHE_RESPONSE_CONFIG,
  CacheResponse,
  type EarlyAnswer,
  ResponseCache,
} from './response-cache/response-cache';
export { ResponseCacheModule } from './response-cache/response-cache.module';
export {
  RESPONSE_CACHE_DEFAULTS,
  type ResponseCacheModuleOptions,
} from './response-cache/response-cache.options';
export type {
  GetOrLoadOptions,
  QueryCacheModuleOptions,
  QueryCacheStats,
  ResponseCacheStats,
} from './query-cache.interfaces';
