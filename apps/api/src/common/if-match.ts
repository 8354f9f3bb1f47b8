import { ApiError } from './api-error';

/** A parsed `If-Match` header: any version (`*`) or a list of versions. */
export type IfMatch = '*' | number[];

const TAG = /^(?:W\/)?"(\d{1,9})"$|^(\d{1,9})$/;

/**
 * Parses `If-Match`: `"3"`, `W/"3"`, `3`, `*`, or a comma-separated list of those (the tags
 * `etagFor` writes, in `./etag`). No header gives `undefined`: the write is unconditional.
 * @throws ApiError 400 naming `If-Match` when the header is malformed.
 * @example parseIfMatch('"3", W/"4"') // [3, 4]
 */
export function parseIfMatch(header: string | string[] | undefined): IfMatch | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value.trim() === '*') return '*';
  const versions: number[] = [];
  for (const part of value.split(',')) {
    const match = TAG.exec(part.trim());
    if (!match) {
      throw ApiError.validation(['If-Match must be "<version>", W/"<version>", <version> or *']);
    }
    versions.push(Number(match[1] ?? match[2]));
  }
  return versions;
}

/** True when `ifMatch` allows a write to a config at `version` (no header allows everything). */
export function matchesVersion(ifMatch: IfMatch | undefined, version: number): boolean {
  return ifMatch === undefined || ifMatch === '*' || ifMatch.includes(version);
}
