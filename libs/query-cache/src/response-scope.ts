import { AsyncLocalStorage } from 'node:async_hooks';
import type { TagSnapshot } from './tag-versions';

/** The store's epoch and the tokens of `tags` (in order) that a read was made under. */
export interface StoreTokens {
  readonly epoch: string;
  readonly tags: readonly string[];
  readonly tokens: readonly string[];
}

/**
 * What a request served by a `@CacheResponse()` route read through `QueryCache.getOrLoad`: the
 * tag versions each read started under, and when the earliest of the values read expires. Its
 * rendered response may be reused while every snapshot is current and nothing has expired.
 */
export class ResponseScope {
  readonly snapshots: TagSnapshot[] = [];
  /** The store tokens of each read; a read that skipped the store leaves `undefined`. */
  readonly tokens: (StoreTokens | undefined)[] = [];
  /** Epoch milliseconds at which the first of the values read expires. */
  expiresAt = Number.POSITIVE_INFINITY;
  /** A read that could not be tracked happened (inside a transaction): never reuse. */
  untracked = false;

  constructor(
    /** Where the response will be kept: the route's handler and the URL. */
    readonly key: string,
    /** Response headers already set when the route's handling began (by earlier hooks). */
    readonly headersBefore: Readonly<Record<string, unknown>>,
  ) {}

  record(snapshot: TagSnapshot, expiresAt: number, tokens: StoreTokens | undefined): void {
    this.snapshots.push(snapshot);
    this.tokens.push(tokens);
    if (expiresAt < this.expiresAt) this.expiresAt = expiresAt;
  }
}

/** The scope of the `@CacheResponse()` request being served, if any. */
export const responseScopes = new AsyncLocalStorage<ResponseScope>();
