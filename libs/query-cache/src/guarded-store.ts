import { withTimeout } from '@lib/common';
import { Logger } from '@nestjs/common';
import { CircuitBreakerPolicy, type CircuitState, systemClock } from '@lib/resilience';
import type { Cache } from 'cache-manager';
import type { CacheStoreHandle } from './cache-store';

/** The outcome of one store call: its value, or that it failed (refused, timed out or skipped). */
export type StoreResult<T> = { ok: true; value: T } | { ok: false };

const FAILED: StoreResult<never> = { ok: false };

/** How {@link GuardedStore} bounds its calls. */
export interface GuardedStoreOptions {
  /** A call slower than this fails. */
  opTimeoutMs: number;
  /** Consecutive failed calls that open the breaker (calls are then skipped). */
  breakerThreshold: number;
  /** How long the breaker stays open before one trial call. */
  breakerResetMs: number;
}

/**
 * The query cache's calls to its store. Each call of a shared store (Redis) is bounded by
 * `opTimeoutMs`, fails at once while the client is disconnected, and goes through a circuit
 * breaker (the resilience library's, not listed in `/health/circuits`); an in-process store
 * cannot hang, so its calls are neither timed nor guarded. A failure is a result, never a throw.
 */
export class GuardedStore {
  private readonly logger = new Logger('QueryCache');
  private readonly breaker: CircuitBreakerPolicy;
  /** Failed calls so far. */
  errors = 0;

  constructor(
    private readonly cache: Cache,
    private readonly handle: CacheStoreHandle,
    private readonly options: GuardedStoreOptions,
  ) {
    this.breaker = new CircuitBreakerPolicy(
      'cache-store',
      {
        failureThreshold: options.breakerThreshold,
        resetTimeoutMs: options.breakerResetMs,
        halfOpenMaxCalls: 1,
        // Calls are bounded by opTimeoutMs: a slow call is a timeout, which is a failure.
        slowCallDurationMs: Number.POSITIVE_INFINITY,
        slowCallRateThreshold: 1,
        slowCallWindow: 1,
      },
      systemClock,
      () => true,
    );
  }

  /** `memory` or `redis`. */
  get kind(): CacheStoreHandle['kind'] {
    return this.handle.kind;
  }

  /** The breaker's state (always `closed` for an in-process store). */
  get breakerState(): CircuitState {
    return this.breaker.state;
  }

  /** False while the client is disconnected or the breaker is open. */
  get connected(): boolean {
    return this.handle.isReady() && this.breaker.state !== 'open';
  }

  /**
   * Reads `keys` in one call (`MGET` on Redis). Read from the Keyv store itself: cache-manager's
   * `mget` turns a failed read into misses and reports it only as an event.
   */
  read<T>(keys: string[]): Promise<StoreResult<(T | undefined)[]>> {
    return this.call(() => this.handle.keyv.getMany<T>(keys));
  }

  /** Writes one value (`ttlMs` omitted: kept until evicted). */
  write(key: string, value: unknown, ttlMs?: number): Promise<StoreResult<unknown>> {
    return this.call(() => this.cache.set(key, value, ttlMs));
  }

  /** Writes several values in one call. */
  writeMany(entries: { key: string; value: unknown }[]): Promise<StoreResult<unknown>> {
    return this.call(() => this.cache.mset(entries));
  }

  /** Closes the store's connection. */
  close(): Promise<void> {
    return this.handle.close();
  }

  private async call<T>(operation: () => Promise<T>): Promise<StoreResult<T>> {
    if (this.handle.kind === 'memory') {
      try {
        return { ok: true, value: await operation() };
      } catch (error) {
        return this.failed(error);
      }
    }
    const permit = this.breaker.tryAcquire();
    if (!permit) return FAILED;
    if (!this.handle.isReady()) {
      // Disconnected: fail at once rather than wait for a reconnect.
      this.breaker.record(permit, true);
      return this.failed('the store is disconnected');
    }
    try {
      const { opTimeoutMs } = this.options;
      const value = await withTimeout(
        operation(),
        opTimeoutMs,
        () => new Error(`cache call exceeded ${opTimeoutMs} ms`),
      );
      this.breaker.record(permit, false);
      return { ok: true, value };
    } catch (error) {
      this.breaker.record(permit, true);
      return this.failed(error);
    }
  }

  private failed(error: unknown): StoreResult<never> {
    this.errors++;
    this.logger.debug(`Cache call failed: ${String(error)}`);
    return FAILED;
  }
}
