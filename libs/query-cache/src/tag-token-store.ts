import { randomUUID } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import type { GuardedStore } from './guarded-store';
import type { StoreTokens } from './read-tracking';

const EPOCH_KEY = 'epoch';
/** Entries of an older format lived under `v:`; they are never read and expire by their TTL. */
const entryKey = (key: string) => `entry:${key}`;
const tagKey = (tag: string) => `t:${tag}`;

/** The epoch and tag tokens a load started under. */
export interface TokenSnapshot {
  epoch: string;
  tokens: string[];
}

/** An entry read with the store's epoch and the current tokens of its tags (one `MGET`). */
export interface EntryRead<E> {
  entry: E | undefined;
  epoch: string | undefined;
  tokens: (string | undefined)[];
}

/**
 * The store's half of the query cache's invalidation: an epoch, and a random token per tag. An
 * entry is valid while the epoch and its tags' tokens are those it was loaded under, so
 * invalidating a tag is one write whatever the number of entries, and works for every process
 * sharing a Redis. Invalidations that could not reach the store make it stale: the next call
 * that can reach it starts a new epoch before anything is served.
 */
export class TagTokenStore {
  private readonly creating = new Map<string, Promise<string | undefined>>();
  private stale = false;
  private restarting: Promise<boolean> | undefined;

  constructor(
    private readonly store: GuardedStore,
    private readonly logger: Logger,
  ) {}

  /** True when the store may be used now; a stale store first gets a new epoch (one call). */
  async usable(): Promise<boolean> {
    if (!this.stale) return this.store.breakerState !== 'open';
    this.restarting ??= this.store
      .write(EPOCH_KEY, token())
      .then((result) => {
        if (!result.ok) return false;
        this.stale = false;
        this.logger.log(
          'Cache store reachable again; started a new epoch (every older entry is stale)',
        );
        return true;
      })
      .finally(() => (this.restarting = undefined));
    return this.restarting;
  }

  /** Reads the entry of `key` with the epoch and the tokens of `tags`; `undefined` on failure. */
  async readEntry<E>(key: string, tags: readonly string[]): Promise<EntryRead<E> | undefined> {
    const read = await this.store.read<unknown>([entryKey(key), EPOCH_KEY, ...tags.map(tagKey)]);
    if (!read.ok) return undefined;
    const [entry, epoch, ...tokens] = read.value as [
      E | undefined,
      string | undefined,
      ...string[],
    ];
    return { entry, epoch, tokens };
  }

  /** Stores an entry (failures are counted by the store, never thrown). */
  async writeEntry(key: string, entry: unknown, ttlMs: number): Promise<void> {
    await this.store.write(entryKey(key), entry, ttlMs);
  }

  /**
   * Creates missing tag tokens (and the epoch) before a load; `undefined` when they could not be
   * written. Concurrent loads in this process share one creation per token, so entries loaded
   * together under a cold tag do not overwrite each other's token. They must exist before the
   * loader reads the database: a token written after it could overwrite an invalidation made
   * meanwhile.
   */
  async ensure(
    tags: readonly string[],
    epoch: string | undefined,
    tokens: (string | undefined)[],
  ): Promise<TokenSnapshot | undefined> {
    const keys = [EPOCH_KEY, ...tags.map(tagKey)];
    const values = await Promise.all(
      [epoch, ...tokens].map((current, i) => current ?? this.create(keys[i])),
    );
    if (values.some((value) => value === undefined)) return undefined;
    const [currentEpoch, ...filled] = values as string[];
    return { epoch: currentEpoch, tokens: filled };
  }

  /** Gives `tags` new tokens (outdating their entries); a failure makes the store stale. */
  async renew(tags: readonly string[]): Promise<void> {
    if (!(await this.usable())) {
      this.stale = true;
      return;
    }
    const result = await this.store.writeMany(
      tags.map((tag) => ({ key: tagKey(tag), value: token() })),
    );
    if (!result.ok) this.stale = true;
  }

  /** Starts a new epoch (outdating every entry); a failure makes the store stale. */
  async newEpoch(): Promise<void> {
    if (!(await this.store.write(EPOCH_KEY, token())).ok) this.stale = true;
  }

  /**
   * Whether the store's epoch and tag tokens are still those in `reads` (one `MGET`): false when
   * another process sharing the store invalidated one of the tags since, and when the store
   * cannot tell now (unreachable, breaker open, stale after lost invalidations).
   */
  async current(reads: readonly StoreTokens[]): Promise<boolean> {
    if (!(await this.usable())) return false;
    const tagKeys = [...new Set(reads.flatMap((r) => r.tags))].map(tagKey);
    const values = await this.store.read<string>([EPOCH_KEY, ...tagKeys]);
    if (!values.ok) return false;
    const [epoch, ...tokens] = values.value;
    const now = new Map(tagKeys.map((key, i) => [key, tokens[i]]));
    return reads.every(
      (r) => r.epoch === epoch && r.tags.every((tag, i) => now.get(tagKey(tag)) === r.tokens[i]),
    );
  }

  private create(key: string): Promise<string | undefined> {
    let creation = this.creating.get(key);
    if (!creation) {
      const fresh = token();
      creation = this.store
        .write(key, fresh)
        .then((result) => (result.ok ? fresh : undefined))
        .finally(() => this.creating.delete(key));
      this.creating.set(key, creation);
    }
    return creation;
  }
}

function token(): string {
  return randomUUID();
}
