import { ApiError } from './api-error';
import { etagFor } from './etag';
import { matchesVersion, parseIfMatch } from './if-match';

/** The 400 `parseIfMatch` throws for `header`, or fails the test when it throws nothing. */
function refusal(header: string | string[]): ApiError {
  try {
    parseIfMatch(header);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error(`parseIfMatch(${JSON.stringify(header)}) accepted a malformed header`);
}

describe('parseIfMatch', () => {
  it('treats a missing header as no condition at all', () => {
    expect(parseIfMatch(undefined)).toBeUndefined();
  });

  it.each([
    ['"3"', [3]],
    ['W/"3"', [3]],
    ['3', [3]],
    [' "3" ', [3]],
    ['"0"', [0]],
    ['"999999999"', [999999999]],
  ])('reads the version in %s', (header, versions) => {
    expect(parseIfMatch(header)).toEqual(versions);
  });

  it('reads the ETag the API sends back unchanged', () => {
    expect(parseIfMatch(etagFor(42))).toEqual([42]);
    expect(parseIfMatch(`W/${etagFor(42)}`)).toEqual([42]);
  });

  it('reads * as "any version"', () => {
    expect(parseIfMatch('*')).toBe('*');
    expect(parseIfMatch('  *  ')).toBe('*');
  });

  it('reads a comma-separated list, mixing the accepted forms, in order', () => {
    expect(parseIfMatch('"1", W/"2",3')).toEqual([1, 2, 3]);
  });

  it('joins a header sent several times into one list', () => {
    expect(parseIfMatch(['"1"', 'W/"2"'])).toEqual([1, 2]);
  });

  it.each([
    'abc',
    '',
    '"abc"',
    '"3',
    '3"',
    "'3'",
    'w/"3"',
    'W/3',
    '"-1"',
    '"3.5"',
    '"1e3"',
    '"1234567890"',
    '"3",',
    '"3",,"4"',
    '"3", *',
    '**',
  ])('refuses %j with a 400 VALIDATION_FAILED naming If-Match', (header) => {
    const error = refusal(header);
    expect(error.getStatus()).toBe(400);
    expect(error.code).toBe('VALIDATION_FAILED');
    const body = error.getResponse() as { message: string[] };
    expect(body.message).toEqual([expect.stringContaining('If-Match')]);
  });

  it('does not echo the refused header back to the client', () => {
    const body = refusal('"<script>"').getResponse() as { message: string[] };
    expect(JSON.stringify(body)).not.toContain('<script>');
  });
});

describe('matchesVersion', () => {
  it('lets a write through when there is no If-Match', () => {
    expect(matchesVersion(undefined, 7)).toBe(true);
  });

  it('lets a write through for * whatever the version', () => {
    expect(matchesVersion('*', 1)).toBe(true);
    expect(matchesVersion('*', 999)).toBe(true);
  });

  it('lets a write through only when the list names the current version', () => {
    expect(matchesVersion([7], 7)).toBe(true);
    expect(matchesVersion([5, 6, 7], 7)).toBe(true);
    expect(matchesVersion([6], 7)).toBe(false);
    expect(matchesVersion([], 7)).toBe(false);
  });

  it('compares parsed headers with stored versions end to end (a stale ETag fails)', () => {
    expect(matchesVersion(parseIfMatch(etagFor(3)), 3)).toBe(true);
    expect(matchesVersion(parseIfMatch(etagFor(3)), 4)).toBe(false);
  });
});
