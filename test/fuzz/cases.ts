/**
 * Generated requests ("plans") over every route of the API: path segments, query pairs, bodies and
 * headers, each part tagged with what the API must make of it. References to stored configs
 * (`ExistingRef`) are resolved against the database state when the plan runs.
 */
import fc from 'fast-check';
import { Members, RawToken, toJsonText } from './json-text';
import {
  type AuthKind,
  type BodyLevel,
  type ContentTypePlan,
  type FieldValue,
  type IfMatchPlan,
  type PathPart,
  type QueryPair,
  type RawMutation,
  PROTO_NAMES,
  authKind,
  boolValue,
  contentTypePlan,
  idSegment,
  ifMatchPlan,
  isProtoName,
  junkSegment,
  listQueryPair,
  modelIdSegment,
  parametersValue,
  priorityValue,
  prioritySegment,
  rawMutation,
  requestIdValue,
  slugSegment,
  slugValue,
  textValue,
  unknownKey,
  unknownValue,
} from './values';

/** A body member that repeats a path parameter, filled in when the plan runs. */
export class PathEcho {
  constructor(readonly param: 'usageType' | 'priority') {}
  toString(): string {
    return `echo(${this.param})`;
  }
}

/** What the fields of a body are expected to produce. */
export interface BodyExpect {
  /** Invalid fields (by path, e.g. `items.0.priority`): a 400 must name one of them. */
  invalid: string[];
  /** Unknown keys: a 400 must name them. */
  unknown: string[];
  /** Unknown keys named after Object.prototype members (same rule; see known bug E). */
  protoUnknown: string[];
  /** Problems found while the body is read, with the names a message may use. */
  levels: { level: BodyLevel; names: string[]; field: boolean }[];
  /** No exact expectation (duplicate keys, odd top-level values, a BOM). */
  ambiguous: boolean;
}

export interface BodyPlan {
  node: unknown;
  mutation: RawMutation;
  expect: BodyExpect;
}

export type RouteName =
  | 'list'
  | 'grouped'
  | 'get'
  | 'create'
  | 'patch'
  | 'delete'
  | 'upsert'
  | 'delete-slot'
  | 'bulk'
  | 'seed'
  | 'reset'
  | 'chain'
  | 'usage-types'
  | 'active'
  | 'fallback-chain'
  | 'validate-model'
  | 'provider-models'
  | 'ops'
  | 'junk';

/** One generated request. Path parts are joined with `/`; strings are literal. */
export interface Plan {
  route: RouteName;
  method: string;
  path: (string | PathPart)[];
  /** Names of the path parameters, in the order of the `PathPart`s in `path`. */
  params: string[];
  query: QueryPair[];
  body?: BodyPlan;
  contentType?: ContentTypePlan;
  auth: AuthKind;
  ifMatch?: IfMatchPlan;
  requestId?: string;
  /** A method-override header on a read. */
  override?: [string, string];
}

const EMPTY_EXPECT = (): BodyExpect => ({
  invalid: [],
  unknown: [],
  protoUnknown: [],
  levels: [],
  ambiguous: false,
});

interface FieldSpec {
  name: string;
  value: fc.Arbitrary<FieldValue>;
  required: boolean;
}

const CREATE_FIELDS: FieldSpec[] = [
  { name: 'usageType', value: slugValue(), required: true },
  { name: 'priority', value: priorityValue(), required: true },
  { name: 'modelId', value: textValue(), required: true },
  { name: 'modelName', value: textValue(), required: true },
  { name: 'provider', value: slugValue(), required: true },
  { name: 'parameters', value: parametersValue(), required: false },
  { name: 'enabled', value: boolValue(), required: false },
];

const CHAIN_FIELDS = CREATE_FIELDS.filter(
  (field) => field.name !== 'usageType' && field.name !== 'priority',
);

const omitted = (required: boolean): fc.Arbitrary<FieldValue> =>
  fc.constant({ node: undefined, ok: !required });

/** An object body from `specs`, with at times unknown keys and a duplicated member. */
function objectBody(
  specs: FieldSpec[],
  prefix: string,
  options: { allOptional?: boolean; extraKeys?: fc.Arbitrary<string> } = {},
): fc.Arbitrary<{ node: Members; expect: BodyExpect }> {
  const fields = specs.map((spec) => {
    const required = spec.required && !options.allOptional;
    return fc.oneof(
      { weight: required ? 24 : 6, arbitrary: spec.value },
      { weight: required ? 1 : 4, arbitrary: omitted(required) },
    );
  });
  const extras = fc.oneof(
    { weight: 12, arbitrary: fc.constant<[string, unknown][]>([]) },
    {
      weight: 1,
      arbitrary: fc.array(fc.tuple(options.extraKeys ?? unknownKey, unknownValue), {
        minLength: 1,
        maxLength: 2,
      }),
    },
  );
  const duplicate = fc.oneof(
    { weight: 30, arbitrary: fc.constant<number | undefined>(undefined) },
    { weight: 1, arbitrary: fc.nat({ max: specs.length - 1 }) },
  );
  return fc.tuple(fc.tuple(...fields), extras, duplicate).map(([values, extra, dup]) => {
    const expect = EMPTY_EXPECT();
    const entries: [string, unknown][] = [];
    values.forEach((value, i) => {
      const name = specs[i].name;
      const path = `${prefix}${name}`;
      if (value.node !== undefined) entries.push([name, value.node]);
      if (value.level) {
        expect.levels.push({
          level: value.level,
          names: [name, path, ...(value.aliases ?? [])],
          field: value.level === 'depth' || value.level === 'width',
        });
      } else if (!value.ok) expect.invalid.push(path);
    });
    for (const [key, value] of extra) {
      entries.push([key, value]);
      if (key === '__proto__') {
        expect.levels.push({ level: 'forbidden-key', names: ['__proto__'], field: false });
      } else if (isProtoName(key)) expect.protoUnknown.push(`${prefix}${key}`);
      else expect.unknown.push(`${prefix}${key}`);
    }
    if (dup !== undefined && entries.length > 0) {
      // The same member twice: 400 or the last value wins (API.md, Hostile input).
      const [key] = entries[dup % entries.length];
      entries.push([key, 'duplicate']);
      expect.ambiguous = true;
      if (!expect.invalid.includes(`${prefix}${key}`)) expect.invalid.push(`${prefix}${key}`);
    }
    return { node: new Members(entries), expect };
  });
}

function merge(into: BodyExpect, from: BodyExpect): void {
  into.invalid.push(...from.invalid);
  into.unknown.push(...from.unknown);
  into.protoUnknown.push(...from.protoUnknown);
  into.levels.push(...from.levels);
  into.ambiguous ||= from.ambiguous;
}

/** `{items: [...]}` of `item` bodies, with wrong `items` values and wrong counts. */
function itemsBody(
  item: (prefix: string) => fc.Arbitrary<{ node: Members; expect: BodyExpect }>,
  max: number,
): fc.Arbitrary<{ node: Members; expect: BodyExpect }> {
  const goodItems = fc
    .integer({ min: 1, max: 3 })
    .chain((count) => fc.tuple(...Array.from({ length: count }, (_, i) => item(`items.${i}.`))));
  const itemsValue = fc.oneof(
    {
      weight: 10,
      arbitrary: goodItems.map((items) => {
        const expect = EMPTY_EXPECT();
        for (const one of items) merge(expect, one.expect);
        return { node: items.map((one) => one.node) as unknown, expect };
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom<unknown>(null, [], 'x', {}, 1, [null], [1], [[]], ['x'])
        .map((node) => ({ node, expect: { ...EMPTY_EXPECT(), invalid: ['items'] } })),
    },
    {
      weight: 1,
      // One past the limit: every item valid, the count is not.
      arbitrary: fc.constant(max + 1).map((count) => ({
        node: Array.from(
          { length: count },
          (_, i) =>
            new Members([
              ['usageType', `fz-many-${i % 7}`],
              ['priority', (i % 1000) + 1],
              ['modelId', 'm'],
              ['modelName', 'M'],
              ['provider', 'p'],
            ]),
        ) as unknown,
        expect: { ...EMPTY_EXPECT(), invalid: ['items'] },
      })),
    },
  );
  const extras = fc.oneof(
    { weight: 12, arbitrary: fc.constant<[string, unknown][]>([]) },
    { weight: 1, arbitrary: fc.array(fc.tuple(unknownKey, unknownValue), { maxLength: 1 }) },
  );
  const missing = fc.oneof(
    { weight: 20, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  );
  return fc.tuple(itemsValue, extras, missing).map(([items, extra, leaveOut]) => {
    const expect = EMPTY_EXPECT();
    const entries: [string, unknown][] = [];
    if (leaveOut) expect.invalid.push('items');
    else {
      entries.push(['items', items.node]);
      merge(expect, items.expect);
    }
    for (const [key, value] of extra) {
      entries.push([key, value]);
      if (key === '__proto__') {
        expect.levels.push({ level: 'forbidden-key', names: ['__proto__'], field: false });
      } else if (isProtoName(key)) expect.protoUnknown.push(key);
      else expect.unknown.push(key);
    }
    return { node: new Members(entries), expect };
  });
}

const createItem = (prefix: string) => objectBody(CREATE_FIELDS, prefix);
const chainItem = (prefix: string) =>
  objectBody(CHAIN_FIELDS, prefix, {
    extraKeys: fc.oneof(unknownKey, fc.constantFrom('usageType', 'priority')),
  });

/** The create body of `PUT …/by-slot`, where usageType/priority may repeat the path. */
function upsertBody(): fc.Arbitrary<{ node: Members; expect: BodyExpect }> {
  const slotField = (name: 'usageType' | 'priority') =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constant<FieldValue>({ node: undefined, ok: true }) },
      { weight: 2, arbitrary: fc.constant<FieldValue>({ node: new PathEcho(name), ok: true }) },
      {
        weight: 1,
        arbitrary: (name === 'usageType'
          ? fc.constantFrom<unknown>('fz-other', 'Nope', null)
          : fc.constantFrom<unknown>(1001, 0, '1', null)
        ).map((node): FieldValue => ({ node, ok: false })),
      },
    );
  return objectBody(
    [
      ...CHAIN_FIELDS,
      { name: 'usageType', value: slotField('usageType'), required: false },
      { name: 'priority', value: slotField('priority'), required: false },
    ],
    '',
  ).map((body) => {
    // A usageType/priority that does not repeat the path: "usageType must repeat the path".
    return body;
  });
}

/** A JSON body with at times a whole-body mutation. */
function bodyPlan(
  arb: fc.Arbitrary<{ node: Members; expect: BodyExpect }>,
): fc.Arbitrary<BodyPlan> {
  return fc.tuple(arb, rawMutation()).map(([{ node, expect }, mutation]) => ({
    node,
    mutation,
    expect,
  }));
}

const NONE_BODY: fc.Arbitrary<BodyPlan | undefined> = fc.constant(undefined);

/** Bodies of routes that take none (seed, reset): empty, `{}`, or junk the parser must refuse. */
const ignoredBody: fc.Arbitrary<BodyPlan | undefined> = fc.oneof(
  { weight: 4, arbitrary: NONE_BODY },
  {
    weight: 1,
    arbitrary: rawMutation().map((mutation): BodyPlan => ({
      node: new Members([]),
      mutation,
      expect: EMPTY_EXPECT(),
    })),
  },
);

const API = ['api', 'v1'];

function commonHeaders(write: boolean) {
  return fc.record({
    auth: write ? authKind() : fc.constantFrom<AuthKind>('none', 'none', 'none', 'wrong'),
    requestId: requestIdValue(),
  });
}

/** A route: method, path template, params, and generators for its body and query. */
function route(
  name: RouteName,
  method: string,
  path: fc.Arbitrary<(string | PathPart)[]>,
  params: string[],
  options: {
    body?: fc.Arbitrary<BodyPlan | undefined>;
    query?: fc.Arbitrary<QueryPair[]>;
    ifMatch?: boolean;
  } = {},
): fc.Arbitrary<Plan> {
  const write = method !== 'GET' && method !== 'HEAD';
  const ifMatch = options.ifMatch
    ? fc.oneof(
        { weight: 3, arbitrary: fc.constant<IfMatchPlan | undefined>(undefined) },
        { weight: 2, arbitrary: ifMatchPlan() },
      )
    : fc.oneof(
        { weight: 12, arbitrary: fc.constant<IfMatchPlan | undefined>(undefined) },
        { weight: 1, arbitrary: ifMatchPlan() },
      );
  const override = write
    ? fc.constant<[string, string] | undefined>(undefined)
    : fc.oneof(
        { weight: 20, arbitrary: fc.constant<[string, string] | undefined>(undefined) },
        {
          weight: 1,
          arbitrary: fc.constantFrom<[string, string] | undefined>(
            ['x-http-method-override', 'DELETE'],
            ['x-http-method', 'POST'],
            ['x-method-override', 'PUT'],
          ),
        },
      );
  return fc
    .record({
      path,
      query: options.query ?? fc.constant<QueryPair[]>([]),
      body: options.body ?? NONE_BODY,
      contentType: contentTypePlan(),
      headers: commonHeaders(write),
      ifMatch,
      override,
      // Fastify serves HEAD for every GET route.
      head: fc.nat({ max: 14 }),
    })
    .map((r): Plan => ({
      route: name,
      method: method === 'GET' && r.head === 0 ? 'HEAD' : method,
      path: r.path,
      params,
      query: r.query,
      body: r.body,
      contentType: r.body ? r.contentType : undefined,
      auth: r.headers.auth,
      requestId: r.headers.requestId,
      ifMatch: r.ifMatch,
      override: r.override,
    }));
}

const lit = (...parts: string[]) => fc.constant<(string | PathPart)[]>([...API, ...parts]);
const withParts = (
  head: string[],
  parts: fc.Arbitrary<PathPart>[],
  tail: string[] = [],
): fc.Arbitrary<(string | PathPart)[]> =>
  fc.tuple(...parts).map((values) => [...API, ...head, ...values, ...tail]);

/** `:usageType/:priority`, often both from the same stored config. */
const slotParts: fc.Arbitrary<PathPart[]> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.nat().map((n): PathPart[] => [
      { existing: n, field: 'usageType' },
      { existing: n, field: 'priority' },
    ]),
  },
  { weight: 3, arbitrary: fc.tuple(slugSegment('usageType'), prioritySegment()) },
);
const slotPath = slotParts.map((parts): (string | PathPart)[] => [
  ...API,
  'model-configs',
  'by-slot',
  ...parts,
]);

const listQuery = fc.oneof(
  { weight: 2, arbitrary: fc.constant<QueryPair[]>([]) },
  { weight: 5, arbitrary: fc.array(listQueryPair(), { minLength: 1, maxLength: 4 }) },
);

/** Operations endpoints (no prefix). */
const OPS_PATHS = [
  'health',
  'health/live',
  'health/database',
  'health/pool',
  'health/cache',
  'health/circuits',
  'metrics',
  'docs-json',
];

const opsPlan: fc.Arbitrary<Plan> = fc
  .record({
    path: fc.constantFrom(...OPS_PATHS),
    query: fc.oneof(
      { weight: 4, arbitrary: fc.constant<QueryPair[]>([]) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom('x=1', 'constructor=1', '__proto__=1', 'limit=%ZZ', 'a=1&a=2')
          .map((raw): QueryPair[] => [{ key: 'x', raw, ok: true }]),
      },
    ),
    requestId: requestIdValue(),
  })
  .map((r): Plan => ({
    route: 'ops',
    method: 'GET',
    path: r.path.split('/'),
    params: [],
    query: r.query,
    auth: 'none',
    requestId: r.requestId,
  }));

/** Methods and paths no route serves, and encodings of real routes. */
const junkPlan: fc.Arbitrary<Plan> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE'),
    path: fc.oneof(
      fc.constantFrom<(string | PathPart)[]>(
        ['api', 'v2', 'model-configs'],
        ['API', 'v1', 'model-configs'],
        ['api', 'v1', 'model-configs', ''],
        ['', 'api', 'v1', 'model-configs'],
        ['api', 'v1', 'model-configs', '..', 'usage-types'],
        ['%61pi', 'v1', 'model-configs'],
        ['api', 'v1', 'model%2Dconfigs'],
        ['api', 'v1', 'model-configs', 'by-slot'],
        ['api', 'v1', 'usage-types', 'chat_deep'],
        ['api', 'v1', 'providers'],
        ['api', 'v1'],
        ['health', 'live', 'x'],
        ['metrics', ''],
        [''],
        ['constructor'],
        ['__proto__'],
        ['api', 'v1', 'model-configs', 'constructor', 'prototype'],
        ['api', 'v1', '__proto__', 'toString'],
      ),
      junkSegment.map((seg): (string | PathPart)[] => ['api', 'v1', 'model-configs', seg, 'x']),
    ),
    body: fc.oneof(
      NONE_BODY,
      createItem('').map((b): BodyPlan => ({ ...b, mutation: { kind: 'none' } })),
    ),
    auth: authKind(),
    requestId: requestIdValue(),
  })
  .map((r): Plan => ({
    route: 'junk',
    method: r.method,
    path: r.path,
    params: [],
    query: [],
    body: r.method === 'GET' || r.method === 'HEAD' ? undefined : r.body,
    contentType: { value: 'application/json', json: true },
    auth: r.auth,
    requestId: r.requestId,
  }));

/** Any request the API takes, and some it must refuse. */
export function planArbitrary(): fc.Arbitrary<Plan> {
  const id = idSegment();
  const ut = slugSegment('usageType');
  return fc.oneof(
    { weight: 4, arbitrary: route('list', 'GET', lit('model-configs'), [], { query: listQuery }) },
    { weight: 1, arbitrary: route('grouped', 'GET', lit('model-configs', 'grouped'), []) },
    { weight: 3, arbitrary: route('get', 'GET', withParts(['model-configs'], [id]), ['id']) },
    {
      weight: 8,
      arbitrary: route('create', 'POST', lit('model-configs'), [], {
        body: bodyPlan(createItem('')),
      }),
    },
    {
      weight: 6,
      arbitrary: route('patch', 'PATCH', withParts(['model-configs'], [id]), ['id'], {
        body: bodyPlan(objectBody(CREATE_FIELDS, '', { allOptional: true })),
        ifMatch: true,
      }),
    },
    {
      weight: 2,
      arbitrary: route('delete', 'DELETE', withParts(['model-configs'], [id]), ['id'], {
        ifMatch: true,
      }),
    },
    {
      weight: 5,
      arbitrary: route('upsert', 'PUT', slotPath, ['usageType', 'priority'], {
        body: bodyPlan(upsertBody()),
        ifMatch: true,
      }),
    },
    {
      weight: 2,
      arbitrary: route('delete-slot', 'DELETE', slotPath, ['usageType', 'priority']),
    },
    {
      weight: 4,
      arbitrary: route('bulk', 'POST', lit('model-configs', 'bulk'), [], {
        body: bodyPlan(itemsBody(createItem, 1000)),
      }),
    },
    {
      weight: 1,
      arbitrary: route('seed', 'POST', lit('model-configs', 'seed'), [], { body: ignoredBody }),
    },
    {
      weight: 1,
      // Rare: a reset wipes what the other cases built.
      arbitrary: fc
        .tuple(
          route('reset', 'POST', lit('model-configs', 'reset'), [], { body: ignoredBody }),
          fc.nat({ max: 9 }),
        )
        .map(([plan, dice]) =>
          dice === 0
            ? plan
            : { ...plan, route: 'seed' as const, path: [...API, 'model-configs', 'seed'] },
        ),
    },
    {
      weight: 4,
      arbitrary: route('chain', 'PUT', withParts(['usage-types'], [ut], ['chain']), ['usageType'], {
        body: bodyPlan(itemsBody(chainItem, 100)),
      }),
    },
    { weight: 1, arbitrary: route('usage-types', 'GET', lit('usage-types'), []) },
    {
      weight: 2,
      arbitrary: route('active', 'GET', withParts(['usage-types'], [ut], ['active']), [
        'usageType',
      ]),
    },
    {
      weight: 2,
      arbitrary: route(
        'fallback-chain',
        'GET',
        withParts(['usage-types'], [ut], ['fallback-chain']),
        ['usageType'],
      ),
    },
    {
      weight: 2,
      arbitrary: route(
        'validate-model',
        'GET',
        withParts(
          ['usage-types'],
          [ut, fc.constant<PathPart>({ raw: 'models', ok: true }), modelIdSegment()],
        ),
        ['usageType', '', 'modelId'],
      ),
    },
    {
      weight: 2,
      arbitrary: route(
        'provider-models',
        'GET',
        withParts(['providers'], [slugSegment('provider')], ['models']),
        ['provider'],
      ),
    },
    { weight: 2, arbitrary: opsPlan },
    { weight: 2, arbitrary: junkPlan },
  );
}

/** The JSON text of a body with `PathEcho` members filled in. */
export function bodyText(plan: BodyPlan, echo: { usageType: string; priority: string }): string {
  const fill = (node: unknown): unknown => {
    if (node instanceof PathEcho) {
      if (node.param === 'usageType') return echo.usageType;
      return /^\d{1,15}$/.test(echo.priority) ? Number(echo.priority) : echo.priority;
    }
    if (node instanceof Members) return new Members(node.entries.map(([k, v]) => [k, fill(v)]));
    if (Array.isArray(node)) return node.map(fill);
    return node;
  };
  return toJsonText(fill(plan.node));
}

export { PROTO_NAMES, RawToken };
