import type { ModelConfig } from './types';

/** Options of `withFallback`. */
export interface FallbackOptions {
  /** Whether to try the next model after `error` (default: always). */
  shouldFallThrough?: (error: unknown, config: ModelConfig) => boolean;
}

/**
 * Runs `fn` with each config of `chain` in order until one succeeds; stops early when
 * `shouldFallThrough` says no. Throws the last error, or an error naming the usage type when
 * the chain is empty.
 *
 * @example
 * await runWithFallback('chat_deep', client.chain('chat_deep'), (c) => callLlm(c.modelId), {
 *   shouldFallThrough: (error) => isRetryable(error),
 * });
 */
export async function runWithFallback<T>(
  usageType: string,
  chain: readonly ModelConfig[],
  fn: (config: ModelConfig) => Promise<T>,
  options: FallbackOptions = {},
): Promise<T> {
  if (chain.length === 0) throw new Error(`No enabled model for usage type "${usageType}"`);
  let lastError: unknown;
  for (const config of chain) {
    try {
      return await fn(config);
    } catch (error) {
      lastError = error;
      if (options.shouldFallThrough && !options.shouldFallThrough(error, config)) throw error;
    }
  }
  throw lastError;
}
