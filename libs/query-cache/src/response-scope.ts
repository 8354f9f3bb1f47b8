import { AsyncLocalStorage } from 'node:async_hooks';
import type { TagSnapshot } from './tag-versions';

/**
 * What a request served by a `@CacheResponse()` route read through `QueryCache.getOrLoad`: the
 * tag versions each read started under, and when the earliest of the values read expires. Its
 * rendered response may be reused while every snapshot is current and nothing has expired.
 */
export class ResponseScope {
  readonly snapshots: TagSnapshot[] = [];
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

  record(snapshot: TagSnapshot, expiresAt: number): void {
    this.snapshots.push(snapshot);
    if (expiresAt < this.expiresAt) this.expiresAt = expiresAt;
  }
}

/** The scope of the `@CacheResponse()` request being served, if any. */
export const responseScopes = new AsyncLocalStorage<ResponseScope>();
