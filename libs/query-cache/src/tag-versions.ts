import { Injectable } from '@nestjs/common';

/** The versions of some tags (and of "everything") at one moment. */
export interface TagSnapshot {
  readonly tags: readonly string[];
  readonly versions: readonly number[];
  readonly all: number;
}

/**
 * Tags whose versions {@link TagVersions} keeps before it forgets them all at once. Tags such as
 * `id:<id>` are unbounded (one per config ever written); 10,000 versions take about 1 MiB.
 */
export const TAG_VERSIONS_LIMIT = 10_000;

/**
 * Versions of cache tags in this process, the clock that tells whether something read under a
 * tag may predate a write: an invalidation bumps its tags when it starts (loads already running
 * may have read the old rows) and again when it ends (reads that overlapped it may have been
 * answered by an entry it had not yet replaced). A snapshot is current while none of its tags,
 * nor everything, moved since it was taken.
 *
 * Bounded: once {@link limit} tags have versions, the next bump of a new tag forgets every
 * version and moves "everything" instead, so every earlier snapshot is outdated (a forgotten tag
 * restarting at 0 can never make an old snapshot current again). That costs one re-render of
 * each kept response and discards the loads in flight, nothing more.
 */
@Injectable()
export class TagVersions {
  /** Most tags with a version at once (see the class comment). */
  limit = TAG_VERSIONS_LIMIT;
  private readonly versions = new Map<string, number>();
  private all = 0;

  /** Tags with a version now, for tests and metrics. */
  get size(): number {
    return this.versions.size;
  }

  snapshot(tags: readonly string[]): TagSnapshot {
    const versions = new Array<number>(tags.length);
    for (let i = 0; i < tags.length; i++) versions[i] = this.versions.get(tags[i]) ?? 0;
    return { tags, versions, all: this.all };
  }

  isCurrent(snapshot: TagSnapshot): boolean {
    if (snapshot.all !== this.all) return false;
    const { tags, versions } = snapshot;
    for (let i = 0; i < tags.length; i++) {
      if ((this.versions.get(tags[i]) ?? 0) !== versions[i]) return false;
    }
    return true;
  }

  bump(tags: readonly string[]): void {
    if (this.versions.size + tags.length > this.limit) {
      this.versions.clear();
      this.all++;
    }
    for (const tag of tags) this.versions.set(tag, (this.versions.get(tag) ?? 0) + 1);
  }

  bumpAll(): void {
    this.all++;
  }
}
