export { QueryCacheModule } from './query-cache.module';
export { QUERY_CACHE_MODULE_OPTIONS } from './query-cache.module-definition';
export { QUERY_CACHE_DEFAULTS } from './query-cache.constants';
export { QueryCache } from './query-cache.service';
export { StoreBreaker, type BreakerState } from './store-breaker';
export type {
  GetOrLoadOptions,
  QueryCacheModuleOptions,
  QueryCacheStats,
} from './query-cache.interfaces';
