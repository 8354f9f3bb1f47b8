import { withoutUndefined } from '@lib/common';
import { QUERY_CACHE_DEFAULTS } from './query-cache.constants';
import type { QueryCacheModuleOptions } from './query-cache.interfaces';

/** Injection token of the options with every default applied. */
export const RESOLVED_QUERY_CACHE_OPTIONS = 'QUERY_CACHE:RESOLVED_OPTIONS';

/** Applies the defaults and checks ranges. */
export function resolveQueryCacheOptions(
  options: QueryCacheModuleOptions,
): Required<QueryCacheModuleOptions> {
  const resolved = { ...QUERY_CACHE_DEFAULTS, ...withoutUndefined(options) };
  for (const name of [
    'ttlMs',
    'opTimeoutMs',
    'maxEntries',
    'breakerThreshold',
    'breakerResetMs',
  ] as const) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`Query cache option ${name} must be a positive integer, got ${value}`);
    }
  }
  if (resolved.store !== 'memory' && resolved.store !== 'redis') {
    throw new RangeError(
      `Query cache option store must be memory or redis, got ${String(resolved.store)}`,
    );
  }
  return resolved;
}
