import { TAG_VERSIONS_LIMIT, TagVersions } from './tag-versions';

describe('TagVersions', () => {
  it('outdates a snapshot of a bumped tag, and only of that tag', () => {
    const versions = new TagVersions();
    const a = versions.snapshot(['a']);
    const b = versions.snapshot(['b']);
    versions.bump(['a']);
    expect(versions.isCurrent(a)).toBe(false);
    expect(versions.isCurrent(b)).toBe(true);
    expect(versions.isCurrent(versions.snapshot(['a']))).toBe(true);
  });

  it('keeps at most `limit` tags, however many distinct tags are bumped', () => {
    const versions = new TagVersions();
    for (let i = 0; i < TAG_VERSIONS_LIMIT * 3 + 7; i++) versions.bump([`id:${i}`]);
    expect(versions.size).toBeLessThanOrEqual(TAG_VERSIONS_LIMIT);
  });

  it('outdates every earlier snapshot when it forgets the versions', () => {
    const versions = new TagVersions();
    versions.limit = 3;
    versions.bump(['a']);
    versions.bump(['a']);
    const a = versions.snapshot(['a']); // a at version 2
    const untouched = versions.snapshot(['never-bumped']);
    versions.bump(['b', 'c']); // 3 tags: still within the limit
    expect(versions.isCurrent(a)).toBe(true);
    versions.bump(['d']); // a 4th tag: everything is forgotten
    expect(versions.size).toBe(1);
    expect(versions.isCurrent(a)).toBe(false);
    expect(versions.isCurrent(untouched)).toBe(false);
    // `a` restarts at 0, then climbs back to 2: the old snapshot must still not match.
    versions.bump(['a']);
    versions.bump(['a']);
    expect(versions.isCurrent(a)).toBe(false);
    // Snapshots taken after forgetting work as before.
    const fresh = versions.snapshot(['a', 'e']);
    expect(versions.isCurrent(fresh)).toBe(true);
    versions.bump(['e']);
    expect(versions.isCurrent(fresh)).toBe(false);
  });

  it('outdates a snapshot taken between the two bumps of an invalidation that forgets', () => {
    const versions = new TagVersions();
    versions.limit = 2;
    versions.bump(['x', 'y']);
    versions.bump(['a']); // start of an invalidation of `a`: forgets, then bumps a
    const during = versions.snapshot(['a']);
    versions.bump(['a']); // its end
    expect(versions.isCurrent(during)).toBe(false);
  });
});
