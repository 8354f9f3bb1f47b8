/**
 * Generators of single values (body fields, path segments, query values, headers), each tagged
 * with what the API must make of it: valid, invalid (a 400 naming the field), or refused while the
 * body is read (`level`).
 */
import fc from 'fast-check';
import { Members, RawToken, depthOf, keysDeep, ownObject, toJsonText } from './json-text';

/** Body problems found while reading the body, before any field is validated. */
export type BodyLevel = 'syntax' | 'encoding' | 'depth' | 'width' | 'forbidden-key' | 'too-large';

/** A generated value: `node` undefined means the field is left out. */
export interface FieldValue {
  node: unknown;
  ok: boolean;
  level?: BodyLevel;
  /** Names (besides the field's own) that a 400 may use for it, e.g. `__proto__`. */
  aliases?: string[];
}

/** Object.prototype members, used as keys, values and path segments. */
export const PROTO_NAMES = [
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupSetter__',
];

/** True when `key` names a member of `Object.prototype` (the keys class-transformer trips on). */
export const isProtoName = (key: string): boolean => key in Object.prototype;

export const SLUG = /^[a-z0-9][a-z0-9_.-]*$/;
const CONTROL = /\p{Cc}/u;

/** The API's text rule (1..256 chars, no control characters), for ASCII-length strings. */
export function validText(value: string): boolean {
  return (
    value.length >= 1 &&
    value.length <= 256 &&
    value.isWellFormed() &&
    !CONTROL.test(value) &&
    // class-validator does not count variation selectors; keep lengths unambiguous.
    !/[\uFE0E\uFE0F]/.test(value)
  );
}

export const validSlug = (value: string): boolean =>
  value.length >= 1 && value.length <= 64 && SLUG.test(value);

const good = (arb: fc.Arbitrary<unknown>): fc.Arbitrary<FieldValue> =>
  arb.map((node) => ({ node, ok: true }));
const bad = (arb: fc.Arbitrary<unknown>): fc.Arbitrary<FieldValue> =>
  arb.map((node) => ({ node, ok: false }));

/** Lone surrogates: refused while the body is read (400, not tied to a field). */
const loneSurrogates = fc
  .constantFrom('\ud800', 'a\udfffb', '\udc00\ud800', 'x\ud83d')
  .map((node): FieldValue => ({ node, ok: false, level: 'encoding' }));

/** Values of the wrong JSON type for a string field. */
const notAString = fc.constantFrom<unknown>(
  null,
  0,
  -1,
  1.5,
  true,
  false,
  [],
  ['x'],
  {},
  { a: 1 },
  1e308,
  new RawToken('1e400'),
  new RawToken('-0'),
  new RawToken('123456789012345678901234567890'),
);

/** Usage types and providers. */
export function slugValue(): fc.Arbitrary<FieldValue> {
  return fc.oneof(
    {
      weight: 10,
      arbitrary: good(
        fc.oneof(
          fc.constantFrom(
            'chat_deep',
            'embedding',
            'inference',
            'constructor',
            'prototype',
            'valueof',
            'fz',
            'fz-1',
            '0',
            'a.b-c_d',
            'z'.repeat(64),
          ),
          fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,12}$/),
        ),
      ),
    },
    {
      weight: 2,
      arbitrary: bad(
        fc.oneof(
          fc.constantFrom(
            '',
            'z'.repeat(65),
            'Chat',
            '_x',
            '-x',
            '.x',
            'a b',
            'a/b',
            'é',
            'a\u0000',
            'a\n',
            '__proto__',
            'toString',
            'hasOwnProperty',
            '%00',
            'ＡＢ',
          ),
          notAString,
        ),
      ),
    },
    { weight: 1, arbitrary: loneSurrogates },
  );
}

const VALID_TEXTS = [
  'openrouter/auto',
  'llama3.1:8b',
  'nomic-embed-text',
  'Llama 3.1 8B',
  'a',
  'x'.repeat(256),
  'модель',
  '模型-7b',
  '🤖 bot',
  'e\u0301',
  '\u202eRTL',
  'zero\u200bwidth',
  '"quoted" \\ back',
  "it's",
  "x' OR '1'='1",
  '<script>alert(1)</script>',
  '$1',
  '?',
  '%00',
  '%2F',
  '../../etc/passwd',
  ...PROTO_NAMES,
];

/** `modelId` and `modelName`. */
export function textValue(): fc.Arbitrary<FieldValue> {
  return fc.oneof(
    {
      weight: 10,
      arbitrary: good(
        fc.oneof(
          fc.constantFrom(...VALID_TEXTS),
          fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter(validText),
          fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter(validText),
        ),
      ),
    },
    {
      weight: 2,
      arbitrary: bad(
        fc.oneof(
          fc.constantFrom(
            '',
            'x'.repeat(257),
            'x'.repeat(5000),
            'a\u0000b',
            'tab\there',
            'line\nbreak',
            '\r',
            '\u007f',
            '\u0085',
            '\u009f',
          ),
          notAString,
        ),
      ),
    },
    { weight: 1, arbitrary: loneSurrogates },
  );
}

/** `priority` in a body. */
export function priorityValue(): fc.Arbitrary<FieldValue> {
  return fc.oneof(
    {
      weight: 10,
      arbitrary: good(
        fc.oneof(
          fc.integer({ min: 1, max: 1000 }),
          fc.constantFrom<unknown>(1, 2, 3, 1000, new RawToken('1.0'), new RawToken('1e3')),
        ),
      ),
    },
    {
      weight: 3,
      arbitrary: bad(
        fc.constantFrom<unknown>(
          0,
          1001,
          -1,
          1.5,
          999.5,
          2 ** 31,
          2 ** 53 + 2,
          1e21,
          -1e21,
          Number.MAX_SAFE_INTEGER,
          new RawToken('1e400'),
          new RawToken('-1e400'),
          new RawToken('123456789012345678901234567890'),
          new RawToken('-0'),
          '1',
          '',
          '1e3',
          null,
          true,
          [],
          {},
          [1],
        ),
      ),
    },
  );
}

/** `enabled`. */
export function boolValue(): fc.Arbitrary<FieldValue> {
  return fc.oneof(
    { weight: 6, arbitrary: good(fc.boolean()) },
    {
      weight: 1,
      arbitrary: bad(fc.constantFrom<unknown>('true', 'false', 1, 0, null, 'yes', [], {})),
    },
  );
}

/** `{a: {a: … 1}}` with `levels` objects. */
export function nested(levels: number): Record<string, unknown> {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value as Record<string, unknown>;
}

/** An object with `members` keys. */
export function wide(members: number): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (let i = 0; i < members; i++) value[`k${i.toString(36)}`] = 0;
  return value;
}

const paramKey = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 8 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ...PROTO_NAMES.filter((key) => key !== '__proto__'),
      'prototype',
      'a.b',
      '',
      '$where',
      ' ',
      'ключ',
    ),
  },
);

/** True when `value` has a `__proto__` key anywhere (the one key the API may refuse). */
export function hasForbiddenKey(value: unknown): boolean {
  return keysDeep(value).includes('__proto__');
}

const PARAMETERS_MAX_BYTES = 16 * 1024;

/** `parameters`: valid objects (keys are data, Object.prototype names included), and every way to be wrong. */
export function parametersValue(): fc.Arbitrary<FieldValue> {
  const generated = fc
    .dictionary(paramKey, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 })
    .map((entries) => ownObject(Object.entries(entries)))
    .filter(
      (value) =>
        !hasForbiddenKey(value) &&
        keysDeep(value).every((key) => key.isWellFormed()) &&
        Buffer.byteLength(toJsonText(value)) <= PARAMETERS_MAX_BYTES &&
        depthOf(value) <= 32,
    );
  return fc
    .oneof(
      {
        weight: 8,
        arbitrary: good(
          fc.oneof(
            generated,
            fc.constantFrom<unknown>(
              {},
              { temperature: 0.2 },
              { constructor: 1 },
              { toString: 'x', valueOf: 2, hasOwnProperty: true },
              { nested: { constructor: { a: 1 }, isPrototypeOf: [1] } },
              { __defineGetter__: null, propertyIsEnumerable: 'no' },
              // Only `__proto__` may be refused (API.md §1); this is data.
              { constructor: { prototype: { x: 1 } } },
              nested(32),
            ),
          ),
        ),
      },
      {
        weight: 2,
        arbitrary: bad(
          fc.constantFrom<unknown>(null, [], [1], 'x', 1, true, nested(33), nested(60), {
            x: 'y'.repeat(PARAMETERS_MAX_BYTES + 1),
          }),
        ),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom<FieldValue>(
          { node: nested(64), ok: false, level: 'depth' },
          { node: nested(300), ok: false, level: 'depth' },
          { node: wide(4097), ok: false, level: 'width' },
          { node: ownObject([['__proto__', 1]]), ok: false, level: 'forbidden-key' },
          {
            node: ownObject([['__proto__', { polluted: true }]]),
            ok: false,
            level: 'forbidden-key',
          },
        ),
      },
    )
    .map((field) =>
      field.level === 'forbidden-key' ? { ...field, aliases: ['__proto__'] } : field,
    );
}

/** Keys no DTO knows. */
export const unknownKey = fc.constantFrom(
  'foo',
  'id',
  'version',
  'createdAt',
  'updatedAt',
  'usagetype',
  'UsageType',
  'model_id',
  'parameters ',
  'ключ',
  '🔑',
  ...PROTO_NAMES,
);

/** A value for an unknown key (scalars, so that `constructor` is never `constructor.prototype`). */
export const unknownValue = fc.constantFrom<unknown>(1, 'x', null, true, [], 'constructor');

// ---------------------------------------------------------------------------------------------
// Path segments and query values

/** A path segment: `raw` is what goes on the wire; `decoded` what the router should hand over. */
export interface Segment {
  raw: string;
  ok: boolean;
  /** decodeURIComponent fails on it: a 400 "URL is malformed" needs no field name. */
  malformed?: boolean;
  /** Longer than the router's parameter limit: 414. */
  tooLong?: boolean;
  /** May not match the route at all (404). */
  mayMiss?: boolean;
  /** Percent-encoded oddities: valid for some parameters (a modelId), not for others. */
  junk?: boolean;
}

/** A reference to a stored config, resolved when the case runs. */
export interface ExistingRef {
  existing: number;
  field: 'id' | 'usageType' | 'priority' | 'modelId' | 'provider';
  upper?: boolean;
  suffix?: string;
}

export type PathPart = Segment | ExistingRef;

export const isExisting = (part: PathPart): part is ExistingRef =>
  (part as ExistingRef).existing !== undefined;

/** Percent-encodes every UTF-8 byte of `value`. */
export function encodeAll(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('');
}

/** encodeURIComponent, except that a lone surrogate becomes its CESU-8 bytes (undecodable). */
export function encodeLoose(value: string): string {
  return value.isWellFormed()
    ? encodeURIComponent(value)
    : encodeURIComponent(value.toWellFormed()).replaceAll('%EF%BF%BD', '%ED%A0%80');
}

function isMalformed(raw: string): boolean {
  try {
    decodeURIComponent(raw);
    return false;
  } catch {
    return true;
  }
}

/** A segment for `value`, encoded one of the ways a client might. */
export function segmentOf(value: string, ok: boolean): fc.Arbitrary<Segment> {
  return fc
    .constantFrom<'component' | 'all'>('component', 'component', 'component', 'all')
    .map((how) => {
      // A lone surrogate has no UTF-8 form: send its CESU-8 bytes, which no decoder accepts.
      const raw = how === 'all' && value.isWellFormed() ? encodeAll(value) : encodeLoose(value);
      return {
        raw,
        ok,
        mayMiss: value.length === 0,
        tooLong: raw.length > 1024,
        malformed: !value.isWellFormed(),
      };
    });
}

/** Percent-encoded junk and traversal attempts. */
export const junkSegment: fc.Arbitrary<Segment> = fc
  .constantFrom(
    '%ZZ',
    '%',
    '%E0%A4%A',
    '%C0%AF',
    '%FF',
    '%00',
    '%2e%2e',
    '..',
    '.',
    'a%2Fb',
    '%2F',
    '%20',
    '+',
    '%u0041',
    ';x=1',
    'x'.repeat(1025),
    '%F0%9F%A4%96',
    '%EF%BB%BF',
    'é',
  )
  .map((raw) => ({
    raw,
    ok: false,
    junk: true,
    malformed: isMalformed(raw),
    tooLong: raw.length > 1024,
  }));

/** A field value used as a path segment (as text: `null` is the string "null" there). */
function fromField(valid: (value: string) => boolean) {
  return (field: FieldValue): fc.Arbitrary<Segment> => {
    const value = typeof field.node === 'string' ? field.node : toJsonText(field.node);
    return segmentOf(value, valid(value));
  };
}

/** `:id`. */
export function idSegment(): fc.Arbitrary<PathPart> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.nat().map((n): PathPart => ({ existing: n, field: 'id' })) },
    {
      weight: 1,
      arbitrary: fc.nat().map((n): PathPart => ({ existing: n, field: 'id', upper: true })),
    },
    { weight: 2, arbitrary: fc.uuid({ version: 4 }).chain((id) => segmentOf(id, true)) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.uuid({ version: 1 }),
          fc.constantFrom(
            ...PROTO_NAMES,
            '123',
            'not-a-uuid',
            '00000000-0000-0000-0000-000000000000',
          ),
        )
        .chain((id) => segmentOf(id, false)),
    },
    {
      weight: 1,
      arbitrary: fc.nat().map((n): PathPart => ({ existing: n, field: 'id', suffix: 'x' })),
    },
    { weight: 1, arbitrary: junkSegment },
  );
}

/** `:usageType` / `:provider`. */
export function slugSegment(field: 'usageType' | 'provider'): fc.Arbitrary<PathPart> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.nat().map((n): PathPart => ({ existing: n, field })) },
    { weight: 4, arbitrary: slugValue().chain(fromField(validSlug)) },
    { weight: 1, arbitrary: junkSegment },
  );
}

/** `:priority`. */
export function prioritySegment(): fc.Arbitrary<PathPart> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.nat().map((n): PathPart => ({ existing: n, field: 'priority' })) },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.integer({ min: 1, max: 1000 }).map(String),
          fc.constantFrom('1', '2', '1000', '01', '0001000'),
        )
        .chain((value) => segmentOf(value, true)),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(
          '0',
          '1001',
          '-1',
          '1.5',
          '1e3',
          '+1',
          ' 1',
          '0x10',
          '9'.repeat(15),
          '9'.repeat(16),
          '9'.repeat(40),
          'constructor',
          'toString',
          'NaN',
          'Infinity',
        )
        .chain((value) => segmentOf(value, false)),
    },
    { weight: 1, arbitrary: junkSegment },
  );
}

/** `:modelId`. */
export function modelIdSegment(): fc.Arbitrary<PathPart> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.nat().map((n): PathPart => ({ existing: n, field: 'modelId' })) },
    { weight: 3, arbitrary: textValue().chain(fromField(validText)) },
    { weight: 1, arbitrary: junkSegment },
  );
}

// ---------------------------------------------------------------------------------------------
// Query

/** One `key=value` pair as sent, with the key as the server decodes it. */
export interface QueryPair {
  key: string;
  raw: string;
  /** The value is valid for `key` (irrelevant for unknown keys). */
  ok: boolean;
  malformed?: boolean;
}

const LIST_KEYS = ['usageType', 'provider', 'enabled', 'limit', 'offset'] as const;
export const isListKey = (key: string): boolean => (LIST_KEYS as readonly string[]).includes(key);

function decimal(min: number, max?: number) {
  return (value: string) =>
    /^\d{1,15}$/.test(value) && Number(value) >= min && (max === undefined || Number(value) <= max);
}

const QUERY_RULES: Record<(typeof LIST_KEYS)[number], (value: string) => boolean> = {
  usageType: validSlug,
  provider: validSlug,
  enabled: (value) => value === 'true' || value === 'false',
  limit: decimal(1, 1000),
  offset: decimal(0),
};

const queryValueFor: Record<(typeof LIST_KEYS)[number], fc.Arbitrary<string>> = {
  usageType: fc.oneof(
    fc.constantFrom('chat_deep', 'embedding', 'constructor', 'fz', 'nope'),
    slugValue().map((field) =>
      typeof field.node === 'string' ? field.node : toJsonText(field.node),
    ),
  ),
  provider: fc.oneof(
    fc.constantFrom('openrouter', 'ollama', 'constructor', 'p'),
    slugValue().map((field) =>
      typeof field.node === 'string' ? field.node : toJsonText(field.node),
    ),
  ),
  enabled: fc.constantFrom('true', 'false', 'TRUE', '1', '0', '', 'yes', 'null'),
  limit: fc.oneof(
    fc.integer({ min: 1, max: 1000 }).map(String),
    fc.constantFrom(
      '1',
      '1000',
      '0',
      '1001',
      '-1',
      '1.0',
      '',
      'abc',
      '1e2',
      ' 1',
      '0001',
      '9'.repeat(16),
    ),
  ),
  offset: fc.oneof(
    fc.integer({ min: 0, max: 50 }).map(String),
    fc.constantFrom('0', '99999', '999999999999999', '-1', '1.5', '', 'x', '9'.repeat(16)),
  ),
};

/** Decodes like a query-string parser: `+` is a space; malformed escapes stay as they are. */
export function decodeQuery(raw: string): { value: string; malformed: boolean } {
  const spaced = raw.replace(/\+/g, ' ');
  try {
    return { value: decodeURIComponent(spaced), malformed: false };
  } catch {
    return { value: spaced, malformed: true };
  }
}

/** A query pair for `GET /model-configs`. */
export function listQueryPair(): fc.Arbitrary<QueryPair> {
  const known = fc
    .constantFrom(...LIST_KEYS)
    .chain((key) =>
      fc.tuple(fc.constant(key), queryValueFor[key], fc.constantFrom('component', 'all', 'junk')),
    )
    .map(([key, value, how]): QueryPair => {
      if (how === 'junk') {
        return { key, raw: `${key}=%ZZ${encodeLoose(value)}`, ok: false, malformed: true };
      }
      if (!value.isWellFormed()) {
        return { key, raw: `${key}=${encodeLoose(value)}`, ok: false, malformed: true };
      }
      const raw = how === 'all' ? encodeAll(value) : encodeURIComponent(value);
      return { key, raw: `${key}=${raw}`, ok: QUERY_RULES[key](value) };
    });
  const unknown = fc
    .constantFrom(
      ...PROTO_NAMES,
      'foo',
      'limit[]',
      'limit[0]',
      'api_key',
      '_method',
      'USAGETYPE',
      'usageType ',
    )
    .map((key): QueryPair => ({ key, raw: `${encodeURIComponent(key)}=1`, ok: true }));
  return fc.oneof({ weight: 6, arbitrary: known }, { weight: 1, arbitrary: unknown });
}

// ---------------------------------------------------------------------------------------------
// Headers

/** `If-Match`; `version` placeholders are filled with the target's current version. */
export interface IfMatchPlan {
  kind: 'current' | 'stale' | 'star' | 'list' | 'malformed';
  text: string;
}

export function ifMatchPlan(): fc.Arbitrary<IfMatchPlan> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .constantFrom('"{v}"', 'W/"{v}"', '{v}', ' "{v}" ')
        .map((text): IfMatchPlan => ({ kind: 'current', text })),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom('"{v+1}"', 'W/"{v+7}"', '"999999999"', '"0"')
        .map((text): IfMatchPlan => ({ kind: 'stale', text })),
    },
    { weight: 1, arbitrary: fc.constant<IfMatchPlan>({ kind: 'star', text: '*' }) },
    {
      weight: 1,
      arbitrary: fc.constant<IfMatchPlan>({ kind: 'list', text: '"{v+1}", "{v}"' }),
    },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom(
          'abc',
          '"1',
          '"-1"',
          '""',
          '1.0',
          '"1234567890"',
          ',',
          'W/1',
          '" 1"',
          '*, "1"',
          '"{v}", abc',
          'W/"{v}"x',
          'constructor',
          '\u00e9',
        )
        .map((text): IfMatchPlan => ({ kind: 'malformed', text })),
    },
  );
}

/** How a request presents the API key. */
export type AuthKind =
  | 'x-api-key'
  | 'bearer'
  | 'bearer-lower'
  | 'bearer-spaces'
  | 'both-one-wrong'
  | 'none'
  | 'wrong'
  | 'basic'
  | 'query-only'
  | 'bearer-empty'
  | 'prefix';

export const AUTHORIZED: ReadonlySet<AuthKind> = new Set<AuthKind>([
  'x-api-key',
  'bearer',
  'bearer-lower',
  'bearer-spaces',
  'both-one-wrong',
]);

export function authKind(): fc.Arbitrary<AuthKind> {
  return fc.oneof(
    {
      weight: 12,
      arbitrary: fc.constantFrom<AuthKind>(
        'x-api-key',
        'bearer',
        'bearer-lower',
        'bearer-spaces',
        'both-one-wrong',
      ),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom<AuthKind>(
        'none',
        'wrong',
        'basic',
        'query-only',
        'bearer-empty',
        'prefix',
      ),
    },
  );
}

/** A client's `X-Request-Id` (what Node's client can send: tab, 0x20-0x7e, latin1). */
export function requestIdValue(): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    {
      weight: 3,
      arbitrary: fc.string({
        unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
        minLength: 1,
        maxLength: 128,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'x'.repeat(129),
        'has space',
        ' padded ',
        '\tpadded\t',
        'caf\u00e9',
        '',
        '"quoted"',
        'a'.repeat(128),
        '__proto__',
        'constructor',
      ),
    },
  );
}

/** Content-Type of a request with a body; `null` sends none. */
export interface ContentTypePlan {
  value: string | null;
  json: boolean | 'either';
}

export function contentTypePlan(): fc.Arbitrary<ContentTypePlan> {
  return fc.oneof(
    {
      weight: 14,
      arbitrary: fc.constant<ContentTypePlan>({ value: 'application/json', json: true }),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom<ContentTypePlan>(
        { value: 'application/json; charset=utf-8', json: true },
        { value: 'APPLICATION/JSON', json: true },
        { value: 'application/json;charset=UTF-8', json: true },
      ),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom<ContentTypePlan>(
        { value: null, json: false },
        { value: 'text/plain', json: false },
        { value: 'application/x-www-form-urlencoded', json: false },
        { value: 'multipart/form-data; boundary=x', json: false },
        { value: 'application/json-patch+json', json: false },
        { value: 'application/jsonx', json: false },
        { value: 'text/json', json: false },
        { value: 'application/json; charset=latin1', json: 'either' },
        { value: 'application/json, text/plain', json: 'either' },
        { value: '*/*', json: 'either' },
      ),
    },
  );
}

/** Whole-body mutations applied to the JSON text. */
export type RawMutation =
  | { kind: 'none' }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; text: string }
  | { kind: 'replace'; text: string; level: BodyLevel | 'ok' | 'either' }
  | { kind: 'bytes'; bytes: number[] }
  | { kind: 'bom' }
  | { kind: 'top-depth'; levels: number }
  | { kind: 'top-width'; members: number };

export function rawMutation(): fc.Arbitrary<RawMutation> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.constant<RawMutation>({ kind: 'none' }) },
    {
      weight: 1,
      arbitrary: fc.nat({ max: 1000 }).map((at): RawMutation => ({ kind: 'truncate', at })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('x', '}', ',', ' {}', '\u0000', '/* c */')
        .map((text): RawMutation => ({ kind: 'append', text })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<RawMutation>(
        { kind: 'replace', text: "{'a':1}", level: 'syntax' },
        { kind: 'replace', text: '{"a":NaN}', level: 'syntax' },
        { kind: 'replace', text: '{"a":01}', level: 'syntax' },
        { kind: 'replace', text: '{"a":"\\x41"}', level: 'syntax' },
        { kind: 'replace', text: 'nul', level: 'syntax' },
        // Top-level non-objects: validated as an object without fields (400 naming them).
        { kind: 'replace', text: 'null', level: 'either' },
        { kind: 'replace', text: '[]', level: 'either' },
        { kind: 'replace', text: '"x"', level: 'either' },
        { kind: 'replace', text: '1', level: 'either' },
        { kind: 'replace', text: 'true', level: 'either' },
        { kind: 'replace', text: `{"x":"${'y'.repeat(1_100_000)}"}`, level: 'too-large' },
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<number[]>(
          [0xff],
          [0xc0, 0xaf],
          [0xed, 0xa0, 0x80],
          [0xf8, 0x88, 0x80, 0x80, 0x80],
          [0x80],
        )
        .map((bytes): RawMutation => ({ kind: 'bytes', bytes })),
    },
    { weight: 1, arbitrary: fc.constant<RawMutation>({ kind: 'bom' }) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(65, 1000, 20_000)
        .map((levels): RawMutation => ({ kind: 'top-depth', levels })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(4097, 20_000)
        .map((members): RawMutation => ({ kind: 'top-width', members })),
    },
  );
}

export { Members, RawToken };
