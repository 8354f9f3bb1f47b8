import type { ReadObserver, StoreTokens, TrackedRead } from '../read-tracking';
import type { TagSnapshot } from '../tag-versions';

/**
 * What a request served by a `@CacheResponse()` route read through `QueryCache.getOrLoad`: the
 * tag versions each read started under, and when the earliest of the values read expires. Its
 * rendered response may be reused while every snapshot is current and nothing has expired.
 */
export class ResponseScope implements ReadObserver {
  readonly snapshots: TagSnapshot[] = [];
  /** The store tokens of each read; a read that skipped the store leaves `undefined`. */
  readonly tokens: (StoreTokens | undefined)[] = [];
  /** Epoch milliseconds at which the first of the values read expires. */
  expiresAt = Number.POSITIVE_INFINITY;
  /** A read that could not be tracked happened (inside a transaction): never reuse. */
  isUntracked = false;

  constructor(
    /** Where the response will be kept: the route's handler and the URL. */
    readonly key: string,
    /** Response headers already set when the route's handling began (by earlier hooks). */
    readonly headersBefore: Readonly<Record<string, unknown>>,
  ) {}

  read({ snapshot, expiresAt, tokens }: TrackedRead): void {
    this.snapshots.push(snapshot);
    this.tokens.push(tokens);
    if (expiresAt < this.expiresAt) this.expiresAt = expiresAt;
  }

  untracked(): void {
    this.isUntracked = true;
  }
}
