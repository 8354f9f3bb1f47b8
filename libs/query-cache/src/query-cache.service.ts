import { withTimeout } from '@lib/common';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { TransactionHost } from '@lib/transactions';
import type { Cache } from 'cache-manager';
import type { CacheStoreHandle } from './cache-store';
import { QUERY_CACHE_STORE } from './query-cache.constants';
import type {
  GetOrLoadOptions,
  QueryCacheModuleOptions,
  QueryCacheStats,
} from './query-cache.interfaces';
import { RESOLVED_QUERY_CACHE_OPTIONS } from './query-cache.options';
import { type StoreTokens, responseScopes } from './response-scope';
import { StoreBreaker } from './store-breaker';
import { TagVersions } from './tag-versions';

/**
 * What a cached entry holds: the JSON text, the epoch and the tag tokens it was loaded under, and
 * when it expires (epoch ms; absent in entries written before it was added).
 */
interface Entry {
  v: string;
  e: string;
  t: string[];
  x?: number;
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

/** The epoch and tag tokens a load started under. */
interface Snapshot {
  epoch: string;
  tokens: string[];
}

const FAILED = Symbol('cache call failed');
type Failed = typeof FAILED;

const EPOCH_KEY = 'epoch';
const entryKey = (key: string) => `v:${key}`;
const tagKey = (tag: string) => `t:${tag}`;

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
export class QueryCache implements OnApplicationShutdown {
  private readonly logger = new Logger('QueryCache');
  private readonly breaker: StoreBreaker;
  private readonly inFlight = new Map<
    string,
    { promise: Promise<Loaded<unknown>>; tags: readonly string[] }
  >();
  private readonly failedReads = new WeakSet<unknown[]>();
  private readonly creatingTokens = new Map<string, Promise<string | undefined>>();
  private dirty = false;
  private recovering: Promise<boolean> | undefined;
  private readonly counters = { hits: 0, misses: 0, errors: 0, bypassed: 0, staleDiscarded: 0 };

  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    @Inject(QUERY_CACHE_STORE) private readonly store: CacheStoreHandle,
    @Inject(RESOLVED_QUERY_CACHE_OPTIONS)
    private readonly options: Required<QueryCacheModuleOptions>,
    private readonly versions: TagVersions,
    @Optional() private readonly transactions?: TransactionHost,
  ) {
    this.breaker = new StoreBreaker(options.breakerThreshold, options.breakerResetMs);
    // cache-manager reports a failed mget as an event and returns misses; remember which calls
    // failed (by their keys array) so the breaker sees them.
    this.cache.on('mget', (event: { keys: unknown; error?: unknown }) => {
      if (event.error !== undefined && Array.isArray(event.keys)) this.failedReads.add(event.keys);
    });
  }

  /**
   * Returns the cached value of `key`, or runs `loader` once (whatever the number of concurrent
   * callers), stores its result under `tags` and returns it. `undefined` results are not stored.
   *
   * @example
   * cache.getOrLoad(`active:${usageType}`, () => repo.loadActive(usageType), { tags: [`usage-type:${usageType}`] })
   */
  getOrLoad<T>(key: string, loader: () => Promise<T>, options: GetOrLoadOptions): Promise<T> {
    const scope = responseScopes.getStore();
    if (this.transactions?.isActive()) {
      if (scope) scope.untracked = true;
      return loader();
    }
    // Taken before joining or starting a load, so any invalidation from now on outdates it.
    const snapshot = scope && this.versions.snapshot(options.tags);
    let flight = this.inFlight.get(key) as { promise: Promise<Loaded<T>> } | undefined;
    if (!flight) {
      const promise: Promise<Loaded<T>> = this.load(key, loader, options).finally(() => {
        if (this.inFlight.get(key)?.promise === promise) this.inFlight.delete(key);
      });
      flight = { promise };
      this.inFlight.set(key, { promise, tags: options.tags });
    }
    if (!scope || !snapshot) return flight.promise.then(valueOf);
    return flight.promise.then((loaded) => {
      scope.record(snapshot, loaded.expiresAt, loaded.tokens);
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
      if ((await this.guard(() => this.cache.set(EPOCH_KEY, token()))) === FAILED) {
        this.dirty = true;
      }
    } finally {
      this.bumpAll();
    }
  }

  /** True when the store is shared with other processes (Redis), whose writes it may show. */
  get sharedStore(): boolean {
    return this.store.kind !== 'memory';
  }

  /**
   * Whether the store's epoch and tag tokens are still those in `read` (one `MGET`): false when
   * another process sharing the store invalidated one of the tags since, and when the store
   * cannot tell now (unreachable, breaker open, stale after lost invalidations). Internal to
   * `@lib/query-cache`: kept responses are checked with it.
   */
  async tokensCurrent(read: readonly StoreTokens[]): Promise<boolean> {
    if (!(await this.usable())) return false;
    const tagKeys = [...new Set(read.flatMap((r) => r.tags))].map(tagKey);
    const keys = [EPOCH_KEY, ...tagKeys];
    const values = await this.readMany<string>(keys);
    if (values === FAILED) return false;
    const [epoch, ...tokens] = values;
    const current = new Map(tagKeys.map((key, i) => [key, tokens[i]]));
    return read.every(
      (r) =>
        r.epoch === epoch && r.tags.every((tag, i) => current.get(tagKey(tag)) === r.tokens[i]),
    );
  }

  /**
   * Counts `reads` hits answered without reaching the store: the reads a reused rendered
   * response (`@CacheResponse()`) stands for. Internal to `@lib/query-cache`.
   */
  countHits(reads: number): void {
    this.counters.hits += reads;
  }

  /** Counters and state, for `/health/cache` and metrics. */
  stats(): QueryCacheStats {
    const { hits, misses, errors, bypassed, staleDiscarded } = this.counters;
    const breaker = this.breaker.state;
    return {
      store: this.store.kind,
      connected: this.store.isReady() && breaker !== 'open',
      hits,
      misses,
      hitRatio: hits + misses === 0 ? 0 : Math.round((hits / (hits + misses)) * 10_000) / 10_000,
      errors,
      bypassed,
      staleDiscarded,
      breaker,
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
    let snapshot: Snapshot | undefined;
    if (await this.usable()) {
      const keys = [entryKey(key), EPOCH_KEY, ...tags.map(tagKey)];
      const read = await this.readMany<unknown>(keys);
      if (read !== FAILED) {
        const [entry, epoch, ...tokens] = read as [
          Entry | undefined,
          string | undefined,
          ...(string | undefined)[],
        ];
        if (entry && epoch !== undefined && entry.e === epoch && sameTokens(entry.t, tokens)) {
          this.counters.hits++;
          // Entries written before `x` existed: expired, as far as a rendered response can tell.
          return {
            value: JSON.parse(entry.v) as T,
            expiresAt: entry.x ?? 0,
            tokens: { epoch: entry.e, tags, tokens: entry.t },
          };
        }
        // Tokens (and the epoch) must exist before the loader reads the database: one written
        // after it could overwrite an invalidation that happened meanwhile.
        snapshot = await this.ensureTokens(tags, epoch, tokens);
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
      v: JSON.stringify(value),
      e: snapshot.epoch,
      t: snapshot.tokens,
      x: loaded.expiresAt,
    };
    await this.guard(() => this.cache.set(entryKey(key), entry, ttlMs));
    return loaded;
  }

  /**
   * Creates missing tag tokens (and the epoch) before a load; `undefined` when they could not be
   * written. Concurrent loads in this process share one creation per token, so entries loaded
   * together under a cold tag do not overwrite each other's token.
   */
  private async ensureTokens(
    tags: readonly string[],
    epoch: string | undefined,
    tokens: (string | undefined)[],
  ): Promise<Snapshot | undefined> {
    const keys = [EPOCH_KEY, ...tags.map(tagKey)];
    const values = await Promise.all(
      [epoch, ...tokens].map((current, i) => current ?? this.createToken(keys[i])),
    );
    if (values.some((value) => value === undefined)) return undefined;
    const [currentEpoch, ...filled] = values as string[];
    return { epoch: currentEpoch, tokens: filled };
  }

  private createToken(key: string): Promise<string | undefined> {
    let creation = this.creatingTokens.get(key);
    if (!creation) {
      const fresh = token();
      creation = this.guard(() => this.cache.set(key, fresh))
        .then((result) => (result === FAILED ? undefined : fresh))
        .finally(() => this.creatingTokens.delete(key));
      this.creatingTokens.set(key, creation);
    }
    return creation;
  }

  private async invalidateNow(tags: readonly string[]): Promise<void> {
    this.bump(tags);
    try {
      if (!(await this.usable())) {
        this.dirty = true;
        return;
      }
      const result = await this.guard(() =>
        this.cache.mset(tags.map((tag) => ({ key: tagKey(tag), value: token() }))),
      );
      if (result === FAILED) this.dirty = true;
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

  /**
   * True when the store may be used now. A cache that missed invalidations first starts a new
   * epoch (one call; concurrent callers wait for it).
   */
  private async usable(): Promise<boolean> {
    if (!this.dirty) return this.breaker.state !== 'open';
    this.recovering ??= this.guard(() => this.cache.set(EPOCH_KEY, token()))
      .then((result) => {
        if (result === FAILED) return false;
        this.dirty = false;
        this.logger.log(
          'Cache store reachable again; started a new epoch (every older entry is stale)',
        );
        return true;
      })
      .finally(() => (this.recovering = undefined));
    return this.recovering;
  }

  /** One `MGET` through {@link guard}; a read the store reported as failed counts as failed. */
  private readMany<T>(keys: string[]): Promise<(T | undefined)[] | Failed> {
    return this.guard(async () => {
      const values = await this.cache.mget<T>(keys);
      if (this.failedReads.has(keys)) throw new Error('the store failed to read');
      return values;
    });
  }

  /** Runs one store call within `opTimeoutMs`, through the breaker; failures are counted, not thrown. */
  private async guard<T>(call: () => Promise<T>): Promise<T | Failed> {
    if (this.store.kind === 'memory') {
      // An in-process store cannot hang or go away: no timer, no breaker.
      try {
        return await call();
      } catch (error) {
        this.counters.errors++;
        this.logger.debug(`Cache call failed: ${String(error)}`);
        return FAILED;
      }
    }
    if (!this.breaker.allow()) return FAILED;
    if (!this.store.isReady()) {
      // Disconnected: fail at once rather than wait for a reconnect.
      this.counters.errors++;
      this.breaker.failure();
      return FAILED;
    }
    try {
      const { opTimeoutMs } = this.options;
      const result = await withTimeout(
        call(),
        opTimeoutMs,
        () => new Error(`cache call exceeded ${opTimeoutMs} ms`),
      );
      this.breaker.success();
      return result;
    } catch (error) {
      this.counters.errors++;
      this.breaker.failure();
      this.logger.debug(`Cache call failed: ${String(error)}`);
      return FAILED;
    }
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

function token(): string {
  return randomUUID();
}
