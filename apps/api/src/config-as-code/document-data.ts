import { MAX_BODY_DEPTH, MAX_OBJECT_MEMBERS } from '../common/json-body.parser';

/**
 * Most values (of any kind, counted each time they are reached) one document may hold. A JSON
 * body of 1 MiB holds at most about 500,000; a YAML document reaches more only by repeating
 * aliases of large nodes, which this bounds (`maxAliasCount` bounds only aliases inside aliases).
 */
export const MAX_DOCUMENT_VALUES = 1_000_000;

/** A key shown as `.key` in a path; any other is shown as `["…"]` (JSON-escaped, truncated). */
const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;
const SHOWN_KEY_LENGTH = 64;

/**
 * The path of `key` under `parent`, as validation messages name fields:
 * `usageTypes.chat_deep[2].provider`, `usageTypes["gpt.4"][0]`.
 */
export function fieldPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (PLAIN_KEY.test(key)) return parent === '' ? key : `${parent}.${key}`;
  const shown = key.length > SHOWN_KEY_LENGTH ? `${key.slice(0, SHOWN_KEY_LENGTH)}…` : key;
  return `${parent}[${JSON.stringify(shown)}]`;
}

/** A plain object (what JSON and YAML parsers build for a map), not an array, null or a class. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** One value still to look at in {@link findDataProblem}. */
type Pending = [value: unknown, depth: number, path: string];

/**
 * Checks that a parsed document is plain JSON data, in one iterative pass (so cycles and shared
 * nodes from YAML aliases cannot recurse or loop): objects, arrays, well-formed strings, finite
 * numbers, booleans and null; nesting at most {@link MAX_BODY_DEPTH} levels, at most
 * {@link MAX_OBJECT_MEMBERS} members per object, no `__proto__` key, at most
 * {@link MAX_DOCUMENT_VALUES} values. Returns the first problem, naming its path, or undefined.
 */
export function findDataProblem(root: unknown): string | undefined {
  const pending: Pending[] = [[root, 0, '']];
  let seen = 0;
  while (pending.length > 0) {
    const [value, depth, path] = pending.pop() as Pending;
    if (++seen > MAX_DOCUMENT_VALUES) {
      return `document holds more than ${MAX_DOCUMENT_VALUES} values (counting repeated aliases)`;
    }
    const problem = scalarProblem(value) ?? containerProblem(value, depth, path, pending);
    if (problem !== undefined) return `${path === '' ? 'document' : path} ${problem}`;
  }
  return undefined;
}

/** What is wrong with a value that is not a container of JSON data; undefined when nothing. */
function scalarProblem(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed() ? undefined : 'contains an unpaired surrogate';
    case 'number':
      return Number.isFinite(value) ? undefined : 'must be a finite number';
    case 'boolean':
      return undefined;
    case 'object':
      return value === null || Array.isArray(value) || isPlainObject(value)
        ? undefined
        : 'is not a JSON value';
    default:
      return 'is not a JSON value';
  }
}

/** Queues a container's children; returns what is wrong with the container itself, if anything. */
function containerProblem(
  value: unknown,
  depth: number,
  path: string,
  pending: Pending[],
): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth + 1 > MAX_BODY_DEPTH) return `nests deeper than ${MAX_BODY_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (let i = value.length - 1; i >= 0; i--) {
      pending.push([value[i], depth + 1, fieldPath(path, i)]);
    }
    return undefined;
  }
  const keys = Object.keys(value);
  if (keys.length > MAX_OBJECT_MEMBERS) return `has more than ${MAX_OBJECT_MEMBERS} members`;
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i];
    if (key === '__proto__') return 'uses the forbidden key __proto__';
    if (!key.isWellFormed()) return 'has a key with an unpaired surrogate';
    pending.push([(value as Record<string, unknown>)[key], depth + 1, fieldPath(path, key)]);
  }
  return undefined;
}

/**
 * Compares strings by Unicode code point (UTF-8 byte order), unlike `<`, which compares UTF-16
 * code units and puts U+FFFF after U+10000.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) {
      // Both strings agree before `i`, so either both are inside a surrogate pair here (and code
      // units compare like code points) or `codePointAt` reads whole code points.
      return (a.codePointAt(i) as number) - (b.codePointAt(i) as number);
    }
  }
  return a.length - b.length;
}

/**
 * A copy of JSON data with every object's keys in code-point order, at every depth (arrays keep
 * their order). Keys are data: `constructor`, `toString` are copied as own properties.
 */
export function canonicalJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalJson);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value).sort(compareCodePoints);
  return Object.fromEntries(
    keys.map((key) => [key, canonicalJson((value as Record<string, unknown>)[key])]),
  );
}

/** Whether two JSON values are equal, ignoring the order of object keys. */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonicalJson(a)) === JSON.stringify(canonicalJson(b));
}
