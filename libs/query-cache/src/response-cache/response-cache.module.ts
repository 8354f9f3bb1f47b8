import { type DynamicModule, Module } from '@nestjs/common';
import { ResponseCache } from './response-cache';
import {
  RESOLVED_RESPONSE_CACHE_OPTIONS,
  type ResponseCacheModuleOptions,
  resolveResponseCacheOptions,
} from './response-cache.options';

/**
 * The response cache of `@CacheResponse()` routes ({@link ResponseCache}), built on the query
 * cache through its read-tracking interface (`ReadTracking`, provided by `QueryCacheModule`,
 * which must be global or imported where this module is). Fastify only.
 *
 * @example
 * imports: [
 *   QueryCacheModule.forRoot({ store: 'redis', isGlobal: true }),
 *   ResponseCacheModule.forRoot({ entries: 1000 }),
 * ]
 */
@Module({})
export class ResponseCacheModule {
  /** Global unless `isGlobal: false`: one HTTP server, one response cache (metrics find it). */
  static forRoot(options: ResponseCacheModuleOptions & { isGlobal?: boolean } = {}): DynamicModule {
    const { isGlobal = true, ...cacheOptions } = options;
    return {
      module: ResponseCacheModule,
      global: isGlobal,
      providers: [
        {
          provide: RESOLVED_RESPONSE_CACHE_OPTIONS,
          useValue: resolveResponseCacheOptions(cacheOptions),
        },
        ResponseCache,
      ],
      exports: [ResponseCache],
    };
  }
}
