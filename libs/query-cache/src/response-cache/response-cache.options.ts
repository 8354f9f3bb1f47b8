/** Options of `ResponseCacheModule.forRoot`. */
export interface ResponseCacheModuleOptions {
  /**
   * Rendered responses of `@CacheResponse()` routes kept in this process (least recently used
   * evicted); 0 turns the response cache off. Default 1000.
   */
  entries?: number;
  /** Larger response bodies are not kept. Default 262144 (256 KiB). */
  maxBodyBytes?: number;
}

/** Defaults of {@link ResponseCacheModuleOptions}. */
export const RESPONSE_CACHE_DEFAULTS: Required<ResponseCacheModuleOptions> = {
  entries: 1_000,
  maxBodyBytes: 256 * 1024,
};

/** Injection token of the options with every default applied. */
export const RESOLVED_RESPONSE_CACHE_OPTIONS = 'RESPONSE_CACHE:RESOLVED_OPTIONS';

/** Applies the defaults and checks ranges. */
export function resolveResponseCacheOptions(
  options: ResponseCacheModuleOptions = {},
): Required<ResponseCacheModuleOptions> {
  const resolved = {
    entries: options.entries ?? RESPONSE_CACHE_DEFAULTS.entries,
    maxBodyBytes: options.maxBodyBytes ?? RESPONSE_CACHE_DEFAULTS.maxBodyBytes,
  };
  if (!Number.isInteger(resolved.entries) || resolved.entries < 0) {
    throw new RangeError(
      `Response cache option entries must be a non-negative integer, got ${resolved.entries}`,
    );
  }
  if (!Number.isInteger(resolved.maxBodyBytes) || resolved.maxBodyBytes < 1) {
    throw new RangeError(
      `Response cache option maxBodyBytes must be a positive integer, got ${resolved.maxBodyBytes}`,
    );
  }
  return resolved;
}
