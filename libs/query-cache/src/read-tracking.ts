import type { TagSnapshot } from './tag-versions';

/** The store's epoch and the tokens of `tags` (in order) that a read was made under. */
export interface StoreTokens {
  readonly epoch: string;
  readonly tags: readonly string[];
  readonly tokens: readonly string[];
}

/** One read through `QueryCache.getOrLoad`, as a {@link ReadObserver} is told of it. */
export interface TrackedRead {
  /** The tag versions the read started under. */
  readonly snapshot: TagSnapshot;
  /** When the value read expires (epoch ms). */
  readonly expiresAt: number;
  /** With a shared store: the epoch and tokens it was read under; none when it skipped the store. */
  readonly tokens?: StoreTokens;
}

/** Told of every read made through the query cache in the async context it observes. */
export interface ReadObserver {
  /** A read through the cache. */
  read(read: TrackedRead): void;
  /** A read that bypassed the cache (inside a transaction): what it read cannot be tracked. */
  untracked(): void;
}

/**
 * What the query cache offers to code that keeps work built from cached reads, such as the
 * response cache: which reads a piece of work made, and whether they are still current. The one
 * interface between the two; the query cache knows nothing of what observes it.
 */
export abstract class ReadTracking {
  /**
   * Runs `fn` with `observer` told of every `getOrLoad` made in its async context, until `fn`
   * returns or the promise it returns settles.
   */
  abstract observe<T>(observer: ReadObserver, fn: () => T): T;
  /**
   * Runs `fn`, callback-style work that goes on after it returns (the rest of a request), with
   * `observer` told of every `getOrLoad` made in its async context until the returned function is
   * called.
   */
  abstract observeUntilClosed(observer: ReadObserver, fn: () => void): () => void;
  /** Whether no invalidation in this process touched the tags of a read since `snapshot`. */
  abstract isCurrent(snapshot: TagSnapshot): boolean;
  /**
   * With a shared store: whether its epoch and tag tokens are still those the reads were made
   * under (one `MGET`); false when the store cannot tell now.
   */
  abstract storeCurrent(reads: readonly StoreTokens[]): Promise<boolean>;
  /** Counts `reads` cache hits answered without reaching the store (kept work reused). */
  abstract countHits(reads: number): void;
  /** True when the store is shared with other processes (Redis), which may invalidate. */
  abstract readonly sharedStore: boolean;
}
