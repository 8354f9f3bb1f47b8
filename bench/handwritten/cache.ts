/** A rendered answer: its JSON text, and its ETag when it carries one config. */
export interface Rendered {
  body: string;
  etag?: string;
}

/**
 * Rendered JSON answers by read key, in plain `Map`s. Keys: `id:<id>`, `active:<usageType>`,
 * `chain:<usageType>`, `grouped`, and the lists (by their normalized query) in a map of their
 * own, since any write can change any list.
 *
 * A read that was loading while a write committed must not store what it read: every
 * invalidation bumps `generation` and notes it against the keys it dropped, and a load stores
 * its result only if its key was not dropped since the load began.
 */
export class ResponseCache {
  private readonly entries = new Map<string, Rendered>();
  private readonly lists = new Map<string, Rendered>();
  private generation = 0;
  /** The generation each key was last dropped at (`list:` for every list, `*` for everything). */
  private readonly droppedAt = new Map<string, number>();

  /**
   * The kept answer for `key`, or `load()`'s result rendered and kept (`undefined`, e.g. a 404,
   * is not kept).
   */
  async get(
    key: string,
    load: () => Promise<unknown>,
    etag?: (value: unknown) => string,
  ): Promise<Rendered | undefined> {
    const map = key.startsWith('list:') ? this.lists : this.entries;
    const kept = map.get(key);
    if (kept) return kept;
    const generation = this.generation;
    const value = await load();
    if (value === undefined) return undefined;
    const rendered: Rendered = { body: JSON.stringify(value), etag: etag?.(value) };
    if (this.lastDropped(key) <= generation) map.set(key, rendered);
    return rendered;
  }

  /** After a committed change of config `id`, in `usageTypes` (old and new). */
  invalidateConfig(id: string, usageTypes: readonly string[]): void {
    const keys = [`id:${id}`, 'grouped'];
    for (const usageType of usageTypes) keys.push(`active:${usageType}`, `chain:${usageType}`);
    this.generation++;
    for (const key of keys) {
      this.entries.delete(key);
      this.droppedAt.set(key, this.generation);
    }
    this.lists.clear();
    this.droppedAt.set('list:', this.generation);
  }

  /** After a committed change of many configs (a chain replaced): everything. */
  clear(): void {
    this.generation++;
    this.entries.clear();
    this.lists.clear();
    this.droppedAt.clear();
    this.droppedAt.set('*', this.generation);
  }

  private lastDropped(key: string): number {
    const own = this.droppedAt.get(key.startsWith('list:') ? 'list:' : key) ?? 0;
    return Math.max(own, this.droppedAt.get('*') ?? 0);
  }
}
