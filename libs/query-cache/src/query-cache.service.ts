import { ScopedStorage } from '@lib/common';
import { Inject, Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { TransactionHost } from '@lib/transactions';
import type { Cache } from 'cache-manager';
import type { CacheStoreHandle } from './cache-store';
import { GuardedStore } from './guarded-store';
import { TagTokenStore, type TokenSnapshot } from './tag-token-store';
import { QUERY_CACHE_STORE } from './query-cache.constants';
import type {
  GetOrLoadOptions,
  QueryCacheModuleOptions,
  QueryCacheStats,
} from './query-cache.interfaces';
import { RESOLVED_QUERY_CACHE_OPTIONS } from './query-cache.options';
import { type ReadObserver, ReadTracking, type StoreTokens } from './read-tracking';
import { type TagSnapshot, TagVersions } from './tag-versions';

/**
 * What a cached entry holds: the value as JSON text, the store's epoch and the tag tokens it was
 * loaded under, and when it expires (epoch ms).
 */
interface Entry {
  json: string;
  epoch: string;
  tokens: string[];
  expiresAt: number;
}

/**
 * A loaded (or cached) value, when it expires (epoch ms), and the store's epoch and tag tokens it
 * was read under (none when the store was skipped).
 */
interface Loaded<T> {
  value: T;
  expiresAt: number;
  tokens?: StoreTokens;
}

/**
 * A read-through cache for query results, correct under concurrency and indifferent to its own
 * store failing.
 *
 * - **Single flight**: concurrent calls for one key share one load.
 * - **Invalidation by tag**, after commit when called inside a transaction. Every tag has a token
 *   in the store; an entry remembers the tokens (and the store's epoch) it was loaded under and
 *   is a hit only while they are unchanged, so invalidating a tag is one write, whatever the
 *   number of entries, and works for every process sharing a Redis.
 * - **No stale stores**: a load that raced an invalidation (it read the database before a write
 *   committed) does not store its value: per-tag versions in this process ({@link TagVersions})
 *   tell. The same versions let `@CacheResponse()` routes reuse their rendered responses.
 * - **Failure is a miss**: every store call is bounded by `opTimeoutMs`; after repeated failures
 *   a breaker skips the store, so reads go straight to the loader; one trial call after
 *   `breakerResetMs` closes it again. Invalidations that could not reach the store make the
 *   whole cache stale: the next successful call starts a new epoch before anything is served.
 * - Reads inside a transaction skip the cache: they may see the transaction's own writes.
 * - Values are stored as JSON text, so a cached value is a fresh copy for every caller and
 *   behaves the same in memory and in Redis; `BigInt` values are refused (convert them first).
 */
@Injectable()
export class QueryCache extends ReadTracking implements OnApplicationShutdown {
  private readonly logger = new Logger('QueryCache');
  private readonly store: GuardedStore;
  private readonly inFlight = new Map<
    string,
    { promise: Promise<Loaded<unknown>>; tags: readonly string[] }
  >();
  private readonly tokens: TagTokenStore;
  private readonly counters = { hits: 0, misses: 0, bypassed: 0, staleDiscarded: 0 };
  /** Who is told of the reads in the current async context ({@link observe}). */
  private readonly observers = new ScopedStorage<ReadObserver>();

  constructor(
    @Inject(CACHE_MANAGER) cache: Cache,
    @Inject(QUERY_CACHE_STORE) handle: CacheStoreHandle,
    @Inject(RESOLVED_QUERY_CACHE_OPTIONS)
    private readonly options: Required<QueryCacheModuleOptions>,
    private readonly versions: TagVersions,
    @Optional() private readonly transactions?: TransactionHost,
  ) {
    super();
    this.store = new GuardedStore(cache, handle, options);
    this.tokens = new TagTokenStore(this.store, this.logger);
  }

  /**
   * Returns the cached value of `key`, or runs `loader` once (whatever the number of concurrent
   * callers), stores its result under `tags` and returns it. `undefined` results are not stored.
   *
   * @example
   * cache.getOrLoad(`active:${usageType}`, () => repo.loadActive(usageType), { tags: [`usage-type:${usageType}`] })
   */
  getOrLoad<T>(key: string, loader: () => Promise<T>, options: GetOrLoadOptions): Promise<T> {
    const observer = this.observers.getStore();
    if (this.transactions?.isActive()) {
      observer?.untracked();
      return loader();
    }
    // Taken before joining or starting a load, so any invalidation from now on outdates it.
    const snapshot = observer && this.versions.snapshot(options.tags);
    let flight = this.inFlight.get(key) as { promise: Promise<Loaded<T>> } | undefined;
    if (!flight) {
      const promise: Promise<Loaded<T>> = this.load(key, loader, options).finally(() => {
        if (this.inFlight.get(key)?.promise === promise) this.inFlight.delete(key);
      });
      flight = { promise };
      this.inFlight.set(key, { promise, tags: options.tags });
    }
    if (!observer || !snapshot) return flight.promise.then(valueOf);
    return flight.promise.then((loaded) => {
      observer.read({ snapshot, expiresAt: loaded.expiresAt, tokens: loaded.tokens });
      return loaded.value;
    });
  }

  /**
   * Invalidates every entry carrying any of `tags`. Inside a transaction this happens after it
   * commits (and not at all if it rolls back); otherwise at once. Never throws for a store
   * failure: the cache is then treated as stale until it can start a new epoch.
   */
  async invalidate(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    if (this.transactions?.isActive()) {
      this.transactions.afterCommit(() => this.invalidateNow(tags));
      return;
    }
    await this.invalidateNow(tags);
  }

  /** Invalidates everything (a new epoch). */
  async invalidateAll(): Promise<void> {
    if (this.transactions?.isActive()) {
      this.transactions.afterCommit(() => this.invalidateAll());
      return;
    }
    this.bumpAll();
    try {
      await this.tokens.newEpoch();
    } finally {
      this.bumpAll();
    }
  }

  /** True when the store is shared with other processes (Redis), whose writes it may show. */
  get sharedStore(): boolean {
    return this.store.kind !== 'memory';
  }

  observe<T>(observer: ReadObserver, fn: () => T): T {
    return this.observers.run(observer, fn);
  }

  observeUntilClosed(observer: ReadObserver, fn: () => void): () => void {
    return this.observers.runUntilClosed(observer, fn);
  }

  isCurrent(snapshot: TagSnapshot): boolean {
    return this.versions.isCurrent(snapshot);
  }

  /**
   * Whether the store's epoch and tag tokens are still those in `read` (one `MGET`): false when
   * another process sharing the store invalidated one of the tags since, and when the store
   * cannot tell now (unreachable, breaker open, stale after lost invalidations).
   */
  async storeCurrent(reads: readonly StoreTokens[]): Promise<boolean> {
    return this.tokens.current(reads);
  }

  /** Counts `reads` hits answered without reaching the store (the reads kept work stands for). */
  countHits(reads: number): void {
    this.counters.hits += reads;
  }

  /** Counters and state, for `/health/cache` and metrics. */
  stats(): QueryCacheStats {
    const { hits, misses, bypassed, staleDiscarded } = this.counters;
    return {
      store: this.store.kind,
      connected: this.store.connected,
      hits,
      misses,
      hitRatio: hits + misses === 0 ? 0 : Math.round((hits / (hits + misses)) * 10_000) / 10_000,
      errors: this.store.errors,
      bypassed,
      staleDiscarded,
      breaker: this.store.breakerState,
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }

  private async load<T>(
    key: string,
    loader: () => Promise<T>,
    options: GetOrLoadOptions,
  ): Promise<Loaded<T>> {
    const { tags } = options;
    const ttlMs = options.ttlMs ?? this.options.ttlMs;
    const versions = this.versions.snapshot(tags);
    let snapshot: TokenSnapshot | undefined;
    if (await this.tokens.usable()) {
      const read = await this.tokens.readEntry<Entry>(key, tags);
      if (read) {
        const { entry, epoch, tokens } = read;
        if (
          entry &&
          epoch !== undefined &&
          entry.epoch === epoch &&
          sameTokens(entry.tokens, tokens)
        ) {
          this.counters.hits++;
          return {
            value: JSON.parse(entry.json) as T,
            expiresAt: entry.expiresAt,
            tokens: { epoch: entry.epoch, tags, tokens: entry.tokens },
          };
        }
        snapshot = await this.tokens.ensure(tags, epoch, tokens);
      }
      this.counters.misses++;
    } else {
      this.counters.bypassed++;
    }
    const value = await loader();
    const loaded: Loaded<T> = {
      value,
      expiresAt: Date.now() + ttlMs,
      tokens: snapshot && { epoch: snapshot.epoch, tags, tokens: snapshot.tokens },
    };
    if (value === undefined || !snapshot) return loaded;
    if (!this.versions.isCurrent(versions)) {
      // A write committed while we loaded: what we read may predate it.
      this.counters.staleDiscarded++;
      return loaded;
    }
    const entry: Entry = {
      json: JSON.stringify(value),
      epoch: snapshot.epoch,
      tokens: snapshot.tokens,
      expiresAt: loaded.expiresAt,
    };
    await this.tokens.writeEntry(key, entry, ttlMs);
    return loaded;
  }

  private async invalidateNow(tags: readonly string[]): Promise<void> {
    this.bump(tags);
    try {
      await this.tokens.renew(tags);
    } finally {
      // Reads that overlapped the token write may have been answered by a replaced entry.
      this.bump(tags);
    }
  }

  /** Outdates the tags' versions; later callers must not join a load that may have read old data. */
  private bump(tags: readonly string[]): void {
    this.versions.bump(tags);
    for (const [key, flight] of this.inFlight) {
      if (flight.tags.some((tag) => tags.includes(tag))) this.inFlight.delete(key);
    }
  }

  private bumpAll(): void {
    this.versions.bumpAll();
    this.inFlight.clear();
  }
}

function sameTokens(stored: string[], current: (string | undefined)[]): boolean {
  if (stored.length !== current.length) return false;
  for (let i = 0; i < stored.length; i++) {
    if (stored[i] === undefined || stored[i] !== current[i]) return false;
  }
  return true;
}

function valueOf<T>(loaded: Loaded<T>): T {
  return loaded.value;
}
