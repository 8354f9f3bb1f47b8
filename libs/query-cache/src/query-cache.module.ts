import { Module } from '@nestjs/common';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { createCache } from 'cache-manager';
import { type CacheStoreHandle, createCacheStore } from './cache-store';
import { QUERY_CACHE_STORE } from './query-cache.constants';
import type { QueryCacheModuleOptions } from './query-cache.interfaces';
import {
  QUERY_CACHE_MODULE_OPTIONS,
  QueryCacheConfigurableModule,
} from './query-cache.module-definition';
import { RESOLVED_QUERY_CACHE_OPTIONS, resolveQueryCacheOptions } from './query-cache.options';
import { QueryCache } from './query-cache.service';
import { ReadTracking } from './read-tracking';
import { TagVersions } from './tag-versions';

/**
 * The query cache: `cache-manager` 7 over a Keyv store (a bounded in-process LRU, or Redis through
 * `@keyv/redis`), exposed as {@link QueryCache} and, for plain use, as `CACHE_MANAGER`
 * (`@nestjs/cache-manager`'s token), with the read tracking ({@link ReadTracking}) that
 * `ResponseCacheModule` builds on. The application starts and works while Redis is down.
 *
 * @example
 * QueryCacheModule.forRoot({ store: 'redis', redisUrl: 'redis://127.0.0.1:6379', isGlobal: true })
 */
@Module({
  providers: [
    {
      provide: RESOLVED_QUERY_CACHE_OPTIONS,
      inject: [QUERY_CACHE_MODULE_OPTIONS],
      useFactory: (options: QueryCacheModuleOptions) => resolveQueryCacheOptions(options),
    },
    {
      provide: QUERY_CACHE_STORE,
      inject: [RESOLVED_QUERY_CACHE_OPTIONS],
      useFactory: (options: Required<QueryCacheModuleOptions>) => createCacheStore(options),
    },
    {
      provide: CACHE_MANAGER,
      inject: [QUERY_CACHE_STORE],
      // No default TTL: entries get theirs from QueryCache, tag tokens live until evicted.
      useFactory: (store: CacheStoreHandle) => createCache({ stores: [store.keyv] }),
    },
    TagVersions,
    QueryCache,
    { provide: ReadTracking, useExisting: QueryCache },
  ],
  exports: [QueryCache, ReadTracking, CACHE_MANAGER],
})
export class QueryCacheModule extends QueryCacheConfigurableModule {}
