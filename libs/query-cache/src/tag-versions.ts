import { Injectable } from '@nestjs/common';

/** The versions of some tags (and of "everything") at one moment. */
export interface TagSnapshot {
  readonly tags: readonly string[];
  readonly versions: readonly number[];
  readonly all: number;
}

/**
 * Versions of cache tags in this process, the clock that tells whether something read under a
 * tag may predate a write: an invalidation bumps its tags when it starts (loads already running
 * may have read the old rows) and again when it ends (reads that overlapped it may have been
 * answered by an entry it had not yet replaced). A snapshot is current while none of its tags,
 * nor everything, moved since it was taken.
 */
@Injectable()
export class TagVersions {
  private readonly versions = new Map<string, number>();
  private all = 0;

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
    for (const tag of tags) this.versions.set(tag, (this.versions.get(tag) ?? 0) + 1);
  }

  bumpAll(): void {
    this.all++;
  }
}
