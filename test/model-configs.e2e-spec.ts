import type { Response } from 'supertest';
import { ApiClient, expectReadsReflect } from './support/api';
import {
  API,
  type ConfigPage,
  type CreateBody,
  ISO_UTC,
  type ModelConfig,
  UUID_V4,
  configBody,
  expectError,
  expectValidation,
  ok,
  unique,
} from './support/http';
import { type TestApp, startTestApp } from './support/test-app';

/** The nine defaults of API.md §1, in list order (usageType, then priority). */
const DEFAULTS = [
  ['chat_deep', 'openrouter/auto', 'OpenRouter Auto', 'openrouter'],
  ['chat_graph', 'openrouter/auto', 'OpenRouter Auto', 'openrouter'],
  ['chat_semantic', 'openrouter/auto', 'OpenRouter Auto', 'openrouter'],
  ['chat_text', 'openrouter/auto', 'OpenRouter Auto', 'openrouter'],
  ['chat_title', 'openrouter/auto', 'OpenRouter Auto', 'openrouter'],
  ['embedding', 'nomic-embed-text', 'Nomic Embed Text', 'ollama'],
  ['general_available_models', 'openrouter/auto', 'OpenRouter Auto', 'openrouter'],
  ['inference', 'llama3.1:8b', 'Llama 3.1 8B', 'ollama'],
  ['kg_edge_creation', 'openrouter/auto', 'OpenRouter Auto', 'openrouter'],
].map(([usageType, modelId, modelName, provider]) => ({
  usageType,
  priority: 1,
  modelId,
  modelName,
  provider,
  parameters: {},
  enabled: true,
  version: 1,
}));

const MODES: [string, Record<string, string>][] = [
  ['pool', {}],
  ['single', { DUCKDB_POOL_ENABLED: 'false' }],
];

/** Builds a `parameters` object nested `levels` objects deep (the object itself is level 1). */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i++) value = { n: value };
  return value;
}

/** A body without `field`. */
function without(body: CreateBody, field: keyof CreateBody): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...body };
  delete copy[field];
  return copy;
}

function expectFreshConfig(config: ModelConfig, body: CreateBody): void {
  expect(config).toEqual({
    id: expect.stringMatching(UUID_V4),
    usageType: body.usageType,
    priority: body.priority,
    modelId: body.modelId,
    modelName: body.modelName,
    provider: body.provider,
    parameters: body.parameters ?? {},
    enabled: body.enabled ?? true,
    version: 1,
    createdAt: expect.stringMatching(ISO_UTC),
    updatedAt: expect.stringMatching(ISO_UTC),
  });
  expect(config.updatedAt).toBe(config.createdAt);
  // A UTC timestamp of "now", not a local time labelled UTC.
  expect(Math.abs(Date.parse(config.createdAt) - Date.now())).toBeLessThan(120_000);
}

describe.each(MODES)('model-configs API (%s mode)', (_mode, modeEnv) => {
  let app: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    app = await startTestApp(modeEnv);
    api = new ApiClient(app.url);
  });

  afterAll(async () => {
    await app?.close();
  });

  describe('GET /model-configs', () => {
    it('filters by usageType and orders by priority, with total, limit and offset', async () => {
      const ut = unique();
      await api.createMany([configBody(ut, 3), configBody(ut, 1), configBody(ut, 2)]);
      const page = await api.list(`usageType=${ut}`);
      expect(page.items.map((c) => c.priority)).toEqual([1, 2, 3]);
      expect(page).toMatchObject({ total: 3, limit: 100, offset: 0 });
      expect(page.items.every((c) => c.usageType === ut)).toBe(true);
    });

    it('orders by usageType, then priority', async () => {
      const base = unique('ord');
      const provider = unique('prov');
      await api.createMany([
        configBody(`${base}-b`, 2, { provider }),
        configBody(`${base}-a`, 3, { provider }),
        configBody(`${base}-b`, 1, { provider }),
        configBody(`${base}-a`, 1, { provider }),
      ]);
      const page = await api.list(`provider=${provider}`);
      expect(page.items.map((c) => [c.usageType, c.priority])).toEqual([
        [`${base}-a`, 1],
        [`${base}-a`, 3],
        [`${base}-b`, 1],
        [`${base}-b`, 2],
      ]);
      expect(page.total).toBe(4);
    });

    it('filters by provider and enabled, alone and combined', async () => {
      const ut = unique();
      const providerA = unique('pa');
      const providerB = unique('pb');
      await api.createMany([
        configBody(ut, 1, { provider: providerA, enabled: true }),
        configBody(ut, 2, { provider: providerA, enabled: false }),
        configBody(ut, 3, { provider: providerB, enabled: false }),
      ]);
      const disabled = await api.list(`usageType=${ut}&enabled=false`);
      expect(disabled.items.map((c) => c.priority)).toEqual([2, 3]);
      expect(disabled.total).toBe(2);
      const enabled = await api.list(`usageType=${ut}&enabled=true`);
      expect(enabled.items.map((c) => c.priority)).toEqual([1]);
      const byProvider = await api.list(`provider=${providerA}`);
      expect(byProvider.items.map((c) => c.priority)).toEqual([1, 2]);
      const combined = await api.list(`usageType=${ut}&provider=${providerA}&enabled=false`);
      expect(combined.items.map((c) => c.priority)).toEqual([2]);
      expect(combined.total).toBe(1);
      const none = await api.list(`usageType=${unique()}`);
      expect(none).toEqual({ items: [], total: 0, limit: 100, offset: 0 });
    });

    it('pages with limit and offset; an offset past the data gives an empty page', async () => {
      const ut = unique();
      await api.createMany([1, 2, 3, 4, 5].map((p) => configBody(ut, p)));
      const first = await api.list(`usageType=${ut}&limit=2`);
      expect(first.items.map((c) => c.priority)).toEqual([1, 2]);
      expect(first).toMatchObject({ total: 5, limit: 2, offset: 0 });
      const second = await api.list(`usageType=${ut}&limit=2&offset=2`);
      expect(second.items.map((c) => c.priority)).toEqual([3, 4]);
      expect(second).toMatchObject({ total: 5, limit: 2, offset: 2 });
      const last = await api.list(`usageType=${ut}&limit=2&offset=4`);
      expect(last.items.map((c) => c.priority)).toEqual([5]);
      const past = await api.list(`usageType=${ut}&offset=5`);
      expect(past).toEqual({ items: [], total: 5, limit: 100, offset: 5 });
      const farPast = await api.list(`usageType=${ut}&offset=999999`);
      expect(farPast).toEqual({ items: [], total: 5, limit: 100, offset: 999999 });
      const max = await api.list(`usageType=${ut}&limit=1000`);
      expect(max).toMatchObject({ total: 5, limit: 1000 });
    });

    it('limits to 100 items by default', async () => {
      const ut = unique();
      const items = Array.from({ length: 101 }, (_, i) => configBody(ut, i + 1));
      ok(await api.http().post(`${API}/model-configs/bulk`).send({ items }), 201);
      const page = await api.list(`usageType=${ut}`);
      expect(page.items).toHaveLength(100);
      expect(page.items[99].priority).toBe(100);
      expect(page).toMatchObject({ total: 101, limit: 100, offset: 0 });
    });

    it('accepts an offset far past the data (a 10-digit decimal integer) as an empty page', async () => {
      const ut = unique();
      await api.create(configBody(ut, 1));
      const res = await api.http().get(`${API}/model-configs?usageType=${ut}&offset=10000000000`);
      expect(ok<ConfigPage>(res)).toMatchObject({ items: [], total: 1 });
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=1.5', 'limit'],
      ['limit=1e3', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=', 'limit'],
      ['limit=0x10', 'limit'],
      ['limit=5&limit=6', 'limit'],
      ['offset=-1', 'offset'],
      ['offset=1.5', 'offset'],
      ['offset=abc', 'offset'],
      ['offset=1e2', 'offset'],
      ['enabled=yes', 'enabled'],
      ['enabled=1', 'enabled'],
      ['enabled=TRUE', 'enabled'],
      ['enabled=true&enabled=false', 'enabled'],
      ['usageType=Chat', 'usageType'],
      ['usageType=', 'usageType'],
      [`usageType=${'a'.repeat(65)}`, 'usageType'],
      ['usageType=a&usageType=b', 'usageType'],
      ['usageType=%27%20OR%201%3D1%20--', 'usageType'],
      ['provider=Open%20Router', 'provider'],
      ['provider=-lead', 'provider'],
      ['foo=1', 'foo'],
    ])('rejects the bad query %s with 400 naming %s', async (query, field) => {
      expectValidation(await api.http().get(`${API}/model-configs?${query}`), field);
    });

    // One message per field: a value that is not an integer at all must be told so, not that it is
    // out of range (class-validator checks a property's decorators bottom-up).
    const NOT_AN_INTEGER: [string, string, string][] = [
      ['GET', '/model-configs?limit=abc', 'limit must be a decimal integer from 1 to 1000'],
      ['GET', '/model-configs?limit=-1', 'limit must be a decimal integer from 1 to 1000'],
      ['GET', '/model-configs?limit=1.5', 'limit must be a decimal integer from 1 to 1000'],
      ['GET', '/model-configs?offset=-1', 'offset must be a decimal integer ≥ 0'],
      ['GET', '/model-configs?offset=abc', 'offset must be a decimal integer ≥ 0'],
      [
        'GET',
        '/usage-types/chat_deep/history?limit=x',
        'limit must be a decimal integer from 1 to 500',
      ],
      ['GET', '/events/log?since=-1', 'since must be a decimal integer ≥ 0'],
      ['GET', '/events/log?limit=many', 'limit must be a decimal integer from 1 to 1000'],
      [
        'POST',
        '/model-configs/00000000-0000-4000-8000-000000000000/restore/two',
        'version must be a decimal integer ≥ 1',
      ],
      [
        'PUT',
        '/model-configs/by-slot/chat_deep/first',
        'priority must be an integer from 1 to 1000',
      ],
    ];
    it.each(NOT_AN_INTEGER)(
      '%s %s says the value is not an integer',
      async (method, path, message) => {
        const req = api.http()[method.toLowerCase() as 'get' | 'post' | 'put'](`${API}${path}`);
        const slot = { modelId: 'm', modelName: 'M', provider: 'p' };
        const res =
          method === 'GET'
            ? await req
            : await req.set(api.writeHeaders).send(method === 'PUT' ? slot : {});
        expect(expectValidation(res)).toEqual([message]);
      },
    );

    it.each(['abc', '-1', '1'])(
      'POST with the priority "%s" (a string) says it must be an integer',
      async (priority) => {
        const res = await api
          .http()
          .post(`${API}/model-configs`)
          .set(api.writeHeaders)
          .send({ ...configBody(unique()), priority });
        expect(expectValidation(res)).toEqual(['priority must be an integer number']);
      },
    );

    it.each<[string, unknown]>([
      ['modelName', 5],
      ['modelId', { id: 'm' }],
      ['usageType', ['chat']],
      ['provider', true],
    ])(
      'POST with a %s that is not a string (%j) says it must be a string',
      async (field, value) => {
        const res = await api
          .http()
          .post(`${API}/model-configs`)
          .set(api.writeHeaders)
          .send({ ...configBody(unique()), [field]: value });
        expect(expectValidation(res)).toEqual([`${field} must be a string`]);
      },
    );

    it.each<[string, string, unknown]>([
      ['POST', '/model-configs/bulk', 'abc'],
      ['POST', '/model-configs/bulk', { 0: {} }],
      ['PUT', '/usage-types/chat_deep/chain', 'abc'],
      ['PUT', '/usage-types/chat_deep/chain', { length: 1 }],
    ])('%s %s with items %j says items must be an array', async (method, path, items) => {
      const req = api.http()[method.toLowerCase() as 'post' | 'put'](`${API}${path}`);
      const res = await req.set(api.writeHeaders).send({ items });
      expect(expectValidation(res)).toEqual(['items must be an array']);
    });
  });

  describe('GET /model-configs/:id', () => {
    it('returns the config with its ETag', async () => {
      const created = await api.create(configBody(unique(), 1, { parameters: { t: 0.2 } }));
      const res = await api.http().get(`${API}/model-configs/${created.id}`);
      expect(ok<ModelConfig>(res)).toEqual(created);
      expect(res.headers.etag).toBe('"1"');
    });

    it.each(['not-a-uuid', '123', 'zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz', `${'a'.repeat(200)}`])(
      'answers 400 naming id for the malformed id %s',
      async (id) => {
        expectValidation(await api.http().get(`${API}/model-configs/${id}`), 'id');
      },
    );

    it('answers 404 for an unknown id without echoing it', async () => {
      const id = '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
      const body = expectError(
        await api.http().get(`${API}/model-configs/${id}`),
        404,
        'NOT_FOUND',
      );
      expect(JSON.stringify(body)).not.toContain(id);
      expect(JSON.stringify(body)).not.toContain('6f1c2d3e');
    });
  });

  describe('POST /model-configs', () => {
    it('creates with 201, Location, ETag "1" and the defaults parameters {} and enabled true', async () => {
      const body = configBody(unique());
      const res = await api.http().post(`${API}/model-configs`).send(body);
      const created = ok<ModelConfig>(res, 201);
      expectFreshConfig(created, body);
      expect(res.headers.etag).toBe('"1"');
      expect(String(res.headers.location)).toMatch(
        new RegExp(`(^|/)api/v1/model-configs/${created.id}$`),
      );
      const location = String(res.headers.location).replace(/^https?:\/\/[^/]+/, '');
      expect(ok<ModelConfig>(await api.http().get(location))).toEqual(created);
    });

    it('stores every given field, parameters and enabled false included', async () => {
      const body = configBody(unique(), 1000, {
        modelId: 'llama3.1:8b',
        modelName: 'Llama 3.1 8B',
        provider: 'ollama.local_1-x',
        parameters: { temperature: 0.2, stop: ['\n\n'], nested: { a: [1, { b: null }] }, n: -1e-7 },
        enabled: false,
      });
      const created = await api.create(body);
      expectFreshConfig(created, body);
      expect(await api.get(created.id)).toEqual(created);
    });

    it('accepts the boundaries: priority 1 and 1000, 64-char slugs, 256-char names, 16 KiB and 31-level parameters', async () => {
      const ut = `${unique('b')}-`.padEnd(64, 'x');
      const blob = 'y'.repeat(16 * 1024 - '{"blob":""}'.length);
      const bodies = [
        configBody(ut, 1, { modelId: 'm'.repeat(256), modelName: 'N'.repeat(256) }),
        configBody(ut, 1000, { provider: 'p'.repeat(64), parameters: { blob } }),
        configBody(ut, 500, { parameters: nested(31) }),
      ];
      expect(Buffer.byteLength(JSON.stringify({ blob }))).toBe(16 * 1024);
      for (const body of bodies) expectFreshConfig(await api.create(body), body);
    });

    const invalid: [string, (body: CreateBody) => Record<string, unknown>, string][] = [
      ['usageType with capitals', (b) => ({ ...b, usageType: 'Chat' }), 'usageType'],
      ['usageType with a space', (b) => ({ ...b, usageType: 'a b' }), 'usageType'],
      ['usageType with a leading underscore', (b) => ({ ...b, usageType: '_a' }), 'usageType'],
      ['usageType of 65 chars', (b) => ({ ...b, usageType: 'a'.repeat(65) }), 'usageType'],
      ['empty usageType', (b) => ({ ...b, usageType: '' }), 'usageType'],
      ['numeric usageType', (b) => ({ ...b, usageType: 5 }), 'usageType'],
      ['missing usageType', (b) => without(b, 'usageType'), 'usageType'],
      ['priority 0', (b) => ({ ...b, priority: 0 }), 'priority'],
      ['priority 1001', (b) => ({ ...b, priority: 1001 }), 'priority'],
      ['priority 1.5', (b) => ({ ...b, priority: 1.5 }), 'priority'],
      ['priority "1"', (b) => ({ ...b, priority: '1' }), 'priority'],
      ['priority -1', (b) => ({ ...b, priority: -1 }), 'priority'],
      ['priority null', (b) => ({ ...b, priority: null }), 'priority'],
      ['missing priority', (b) => without(b, 'priority'), 'priority'],
      ['empty modelId', (b) => ({ ...b, modelId: '' }), 'modelId'],
      ['modelId of 257 chars', (b) => ({ ...b, modelId: 'm'.repeat(257) }), 'modelId'],
      ['modelId with a control char', (b) => ({ ...b, modelId: 'a\u0007b' }), 'modelId'],
      ['modelId with a newline', (b) => ({ ...b, modelId: 'a\nb' }), 'modelId'],
      ['modelId with NUL', (b) => ({ ...b, modelId: 'a\u0000b' }), 'modelId'],
      ['numeric modelId', (b) => ({ ...b, modelId: 42 }), 'modelId'],
      ['missing modelId', (b) => without(b, 'modelId'), 'modelId'],
      ['empty modelName', (b) => ({ ...b, modelName: '' }), 'modelName'],
      ['modelName of 257 chars', (b) => ({ ...b, modelName: 'n'.repeat(257) }), 'modelName'],
      ['modelName with a tab', (b) => ({ ...b, modelName: 'a\tb' }), 'modelName'],
      ['modelName with DEL', (b) => ({ ...b, modelName: 'a\u007fb' }), 'modelName'],
      ['missing modelName', (b) => without(b, 'modelName'), 'modelName'],
      ['provider with capitals', (b) => ({ ...b, provider: 'OpenRouter' }), 'provider'],
      ['provider with a slash', (b) => ({ ...b, provider: 'open/router' }), 'provider'],
      ['empty provider', (b) => ({ ...b, provider: '' }), 'provider'],
      ['provider of 65 chars', (b) => ({ ...b, provider: 'p'.repeat(65) }), 'provider'],
      ['missing provider', (b) => without(b, 'provider'), 'provider'],
      ['parameters array', (b) => ({ ...b, parameters: [1, 2] }), 'parameters'],
      ['parameters null', (b) => ({ ...b, parameters: null }), 'parameters'],
      ['parameters string', (b) => ({ ...b, parameters: '{}' }), 'parameters'],
      ['parameters number', (b) => ({ ...b, parameters: 3 }), 'parameters'],
      [
        'parameters over 16 KiB',
        (b) => ({ ...b, parameters: { blob: 'y'.repeat(16 * 1024 - 10) } }),
        'parameters',
      ],
      ['parameters 40 levels deep', (b) => ({ ...b, parameters: nested(40) }), 'parameters'],
      ['enabled "yes"', (b) => ({ ...b, enabled: 'yes' }), 'enabled'],
      ['enabled "true"', (b) => ({ ...b, enabled: 'true' }), 'enabled'],
      ['enabled 1', (b) => ({ ...b, enabled: 1 }), 'enabled'],
      ['enabled null', (b) => ({ ...b, enabled: null }), 'enabled'],
      ['an unknown field', (b) => ({ ...b, foo: 1 }), 'foo'],
      ['a client-chosen id', (b) => ({ ...b, id: '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f' }), 'id'],
      ['a client-chosen version', (b) => ({ ...b, version: 7 }), 'version'],
      [
        'a client-chosen createdAt',
        (b) => ({ ...b, createdAt: '2020-01-01T00:00:00Z' }),
        'createdAt',
      ],
    ];

    it.each(invalid)(
      'rejects %s with 400 naming the field, storing nothing',
      async (_l, mutate, field) => {
        const ut = unique();
        const res = await api
          .http()
          .post(`${API}/model-configs`)
          .send(mutate(configBody(ut, 7)));
        expectValidation(res, field);
        expect((await api.list(`usageType=${ut}`)).total).toBe(0);
      },
    );

    it('names several offending fields at once', async () => {
      const res = await api
        .http()
        .post(`${API}/model-configs`)
        .send({ usageType: 'Bad', priority: 0, modelId: '', modelName: 'ok', provider: 'x y' });
      expectValidation(res, 'usageType', 'priority', 'modelId', 'provider');
    });

    it.each([
      ['an empty object', {}],
      ['an array', [configBody('arr', 1)]],
      ['null', null],
      ['a string', 'hello'],
      ['a number', 42],
    ])('rejects %s as the body with 400', async (_label, body) => {
      const res = await api
        .http()
        .post(`${API}/model-configs`)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(body));
      expectError(res, 400, 'VALIDATION_FAILED');
    });

    it('answers 409 SLOT_TAKEN for a taken (usageType, priority) and keeps the first', async () => {
      const ut = unique();
      const first = await api.create(configBody(ut, 1));
      const res = await api
        .http()
        .post(`${API}/model-configs`)
        .send(configBody(ut, 1, { modelId: 'other' }));
      expectError(res, 409, 'SLOT_TAKEN');
      expect(await api.ofUsageType(ut)).toEqual([first]);
    });
  });

  describe('strings holding SQL, unicode and emoji', () => {
    const hostile = [
      "x'); DROP TABLE model_configs; --",
      "' OR 1=1 --",
      "Robert'); DELETE FROM model_configs WHERE ('1'='1",
      '"; UPDATE model_configs SET enabled = false; --',
      '$1 $2 ?::JSON',
      'back\\slash and "quotes" and %s %d',
      'ünïcödé – 日本語 – Ελληνικά',
      'emoji 🚀🔥👩‍💻',
      'null',
    ];

    it('stores them verbatim and reads them back on every path, the table intact', async () => {
      const ut = unique('sql');
      const provider = unique('sqlp');
      const bodies = hostile.map((text, i) =>
        configBody(ut, i + 1, {
          modelId: `${text} #${i}`,
          modelName: text,
          provider,
          parameters: { [text]: text, list: [text, { [text]: [text] }] },
        }),
      );
      const created = await api.createMany(bodies);
      created.forEach((config, i) => {
        expect(config.modelId).toBe(bodies[i].modelId);
        expect(config.modelName).toBe(hostile[i]);
        expect(config.parameters).toEqual(bodies[i].parameters);
      });
      await expectReadsReflect(api, ut, provider, created);

      // The table is whole: the defaults are still there and nothing else changed.
      const deep = await api.ofUsageType('chat_deep');
      expect(deep).toHaveLength(1);
      expect(deep[0]).toMatchObject({ modelId: 'openrouter/auto', enabled: true });
      expect((await api.list('limit=1000')).total).toBeGreaterThanOrEqual(9 + hostile.length);
    });

    it('PATCHes and PUTs them verbatim too', async () => {
      const ut = unique('sqlw');
      const created = await api.create(configBody(ut, 1));
      const patched = await api.patch(created.id, {
        modelName: hostile[0],
        parameters: { q: hostile[1] },
      });
      expect(patched).toMatchObject({ modelName: hostile[0], parameters: { q: hostile[1] } });
      const res = await api
        .http()
        .put(`${API}/model-configs/by-slot/${ut}/2`)
        .send({ modelId: hostile[2], modelName: hostile[7], provider: 'p' });
      expect(ok<ModelConfig>(res, 201)).toMatchObject({
        modelId: hostile[2],
        modelName: hostile[7],
      });
      expect((await api.ofUsageType(ut)).map((c) => c.modelId)).toEqual(['model-1', hostile[2]]);
    });
  });

  describe('PATCH /model-configs/:id', () => {
    it('changes the given fields only, bumps the version and sets the ETag', async () => {
      const created = await api.create(configBody(unique(), 1, { parameters: { a: 1 } }));
      const res = await api
        .http()
        .patch(`${API}/model-configs/${created.id}`)
        .send({ modelName: 'Renamed', parameters: { b: 2 } });
      const updated = ok<ModelConfig>(res);
      expect(res.headers.etag).toBe('"2"');
      expect(updated).toEqual({
        ...created,
        modelName: 'Renamed',
        parameters: { b: 2 },
        version: 2,
        updatedAt: expect.stringMatching(ISO_UTC),
      });
      expect(Date.parse(updated.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.createdAt));
      expect(await api.get(created.id)).toEqual(updated);
      const again = await api.patch(created.id, { enabled: false });
      expect(again).toMatchObject({ version: 3, enabled: false, modelName: 'Renamed' });
    });

    it('moves a config to another slot, freeing the old one', async () => {
      const ut = unique();
      const other = unique();
      const created = await api.create(configBody(ut, 1));
      const moved = await api.patch(created.id, { priority: 5 });
      expect(moved).toMatchObject({ id: created.id, priority: 5, version: 2 });
      const across = await api.patch(created.id, { usageType: other, priority: 1 });
      expect(across).toMatchObject({ id: created.id, usageType: other, priority: 1, version: 3 });
      expect(await api.ofUsageType(ut)).toEqual([]);
      expect(await api.ofUsageType(other)).toEqual([across]);
      // The freed slot can be used again.
      await api.create(configBody(ut, 1));
      const back = await api.patch(created.id, { usageType: ut, priority: 5 });
      expect(back.version).toBe(4);
      expect((await api.ofUsageType(ut)).map((c) => c.priority)).toEqual([1, 5]);
    });

    it('answers 409 SLOT_TAKEN when moving onto a taken slot and changes nothing', async () => {
      const ut = unique();
      const [one, two] = await api.createMany([configBody(ut, 1), configBody(ut, 2)]);
      const res = await api
        .http()
        .patch(`${API}/model-configs/${one.id}`)
        .send({ priority: 2, modelName: 'x' });
      expectError(res, 409, 'SLOT_TAKEN');
      expect(await api.ofUsageType(ut)).toEqual([one, two]);
    });

    it('answers 200 with the same version for an empty body (or no body)', async () => {
      const created = await api.create(configBody(unique()));
      const res = await api.http().patch(`${API}/model-configs/${created.id}`).send({});
      expect(ok<ModelConfig>(res)).toEqual(created);
      expect(res.headers.etag).toBe('"1"');
      const noBody = await api.http().patch(`${API}/model-configs/${created.id}`);
      expect(ok<ModelConfig>(noBody)).toEqual(created);
      const same = await api.patch(created.id, { modelId: created.modelId, enabled: true });
      expect(same.version).toBe(1);
      expect(await api.get(created.id)).toEqual(created);
    });

    it('still checks If-Match on an empty body', async () => {
      const created = await api.create(configBody(unique()));
      const res = await api
        .http()
        .patch(`${API}/model-configs/${created.id}`)
        .set('If-Match', '"2"')
        .send({});
      expectError(res, 412, 'VERSION_MISMATCH');
    });

    it.each(['"1"', 'W/"1"', '1', '*', '"7", "1"'])('accepts If-Match %s', async (ifMatch) => {
      const created = await api.create(configBody(unique()));
      const updated = await api.patch(created.id, { modelName: 'Matched' }, ifMatch);
      expect(updated).toMatchObject({ modelName: 'Matched', version: 2 });
    });

    it.each(['"2"', 'W/"0"', '3'])(
      'answers 412 VERSION_MISMATCH for the stale If-Match %s, changing nothing',
      async (ifMatch) => {
        const created = await api.create(configBody(unique()));
        const res = await api
          .http()
          .patch(`${API}/model-configs/${created.id}`)
          .set('If-Match', ifMatch)
          .send({ modelName: 'Lost update' });
        expectError(res, 412, 'VERSION_MISMATCH');
        expect(await api.get(created.id)).toEqual(created);
      },
    );

    it('answers 412 after another writer bumped the version', async () => {
      const created = await api.create(configBody(unique()));
      await api.patch(created.id, { modelName: 'first' }, '"1"');
      const res = await api
        .http()
        .patch(`${API}/model-configs/${created.id}`)
        .set('If-Match', '"1"')
        .send({ modelName: 'second' });
      expectError(res, 412, 'VERSION_MISMATCH');
      expect((await api.get(created.id)).modelName).toBe('first');
    });

    it.each(['abc', '"abc"', 'W/1', '"1', '-1', '1.5'])(
      'answers 400 naming If-Match for the malformed If-Match %s',
      async (ifMatch) => {
        const created = await api.create(configBody(unique()));
        const res = await api
          .http()
          .patch(`${API}/model-configs/${created.id}`)
          .set('If-Match', ifMatch)
          .send({ modelName: 'x' });
        expectValidation(res, 'If-Match');
        expect(await api.get(created.id)).toEqual(created);
      },
    );

    it.each<[string, Record<string, unknown>, string]>([
      ['priority 0', { priority: 0 }, 'priority'],
      ['priority "2"', { priority: '2' }, 'priority'],
      ['usageType "Bad"', { usageType: 'Bad' }, 'usageType'],
      ['empty modelId', { modelId: '' }, 'modelId'],
      ['modelName with a control char', { modelName: 'a\rb' }, 'modelName'],
      ['parameters array', { parameters: [] }, 'parameters'],
      ['parameters over 16 KiB', { parameters: { s: 'z'.repeat(17_000) } }, 'parameters'],
      ['enabled "yes"', { enabled: 'yes' }, 'enabled'],
      ['an unknown field', { bogus: true }, 'bogus'],
      ['a version', { version: 9 }, 'version'],
      ['an id', { id: '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f' }, 'id'],
    ])('rejects %s with 400, changing nothing', async (_label, body, field) => {
      const created = await api.create(configBody(unique()));
      expectValidation(
        await api.http().patch(`${API}/model-configs/${created.id}`).send(body),
        field,
      );
      expect(await api.get(created.id)).toEqual(created);
    });

    it.each(['parameters', 'modelId', 'modelName', 'provider', 'usageType', 'priority', 'enabled'])(
      'rejects %s: null with 400, changing nothing',
      async (field) => {
        const created = await api.create(configBody(unique()));
        const res = await api
          .http()
          .patch(`${API}/model-configs/${created.id}`)
          .send({ [field]: null });
        expectValidation(res, field);
        expect(await api.get(created.id)).toEqual(created);
      },
    );

    it('answers 404 for an unknown id and 400 for a malformed one', async () => {
      expectError(
        await api
          .http()
          .patch(`${API}/model-configs/6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f`)
          .send({ modelName: 'x' }),
        404,
        'NOT_FOUND',
      );
      expectValidation(
        await api.http().patch(`${API}/model-configs/nope`).send({ modelName: 'x' }),
        'id',
      );
    });
  });

  describe('DELETE /model-configs/:id', () => {
    it('answers 204 with no body, then 404', async () => {
      const ut = unique();
      const [one, two] = await api.createMany([configBody(ut, 1), configBody(ut, 2)]);
      const res = await api.http().delete(`${API}/model-configs/${one.id}`);
      ok(res, 204);
      expect(res.text).toBe('');
      await api.expectGone(one.id);
      expect(await api.ofUsageType(ut)).toEqual([two]);
      expectError(await api.http().delete(`${API}/model-configs/${one.id}`), 404, 'NOT_FOUND');
    });

    it('honours If-Match: stale 412 keeps the config, current or * deletes', async () => {
      const ut = unique();
      const [one, two] = await api.createMany([configBody(ut, 1), configBody(ut, 2)]);
      await api.patch(one.id, { modelName: 'v2' });
      const stale = await api
        .http()
        .delete(`${API}/model-configs/${one.id}`)
        .set('If-Match', '"1"');
      expectError(stale, 412, 'VERSION_MISMATCH');
      expect((await api.get(one.id)).version).toBe(2);
      ok(await api.http().delete(`${API}/model-configs/${one.id}`).set('If-Match', 'W/"2"'), 204);
      ok(await api.http().delete(`${API}/model-configs/${two.id}`).set('If-Match', '*'), 204);
      expect(await api.ofUsageType(ut)).toEqual([]);
    });

    it('answers 400 for a malformed id or If-Match', async () => {
      expectValidation(await api.http().delete(`${API}/model-configs/nope`), 'id');
      const created = await api.create(configBody(unique()));
      const res = await api
        .http()
        .delete(`${API}/model-configs/${created.id}`)
        .set('If-Match', 'abc');
      expectValidation(res, 'If-Match');
      expect(await api.get(created.id)).toEqual(created);
    });
  });

  describe('PUT /model-configs/by-slot/:usageType/:priority', () => {
    const slot = (ut: string, priority: number | string): string =>
      `${API}/model-configs/by-slot/${ut}/${priority}`;

    it('creates in an empty slot: 201, Location, ETag "1", defaults', async () => {
      const ut = unique();
      const res = await api
        .http()
        .put(slot(ut, 4))
        .send({ modelId: 'm', modelName: 'M', provider: 'p' });
      const created = ok<ModelConfig>(res, 201);
      expectFreshConfig(created, {
        usageType: ut,
        priority: 4,
        modelId: 'm',
        modelName: 'M',
        provider: 'p',
      });
      expect(res.headers.etag).toBe('"1"');
      expect(String(res.headers.location)).toMatch(
        new RegExp(`(^|/)api/v1/model-configs/${created.id}$`),
      );
      expect(await api.get(created.id)).toEqual(created);
    });

    it('replaces a full slot: 200, same id and createdAt, version+1, omitted fields reset', async () => {
      const ut = unique();
      const original = await api.create(
        configBody(ut, 2, { parameters: { temperature: 1 }, enabled: false }),
      );
      const res = await api
        .http()
        .put(slot(ut, 2))
        .send({ modelId: 'replacement', modelName: 'Replacement', provider: 'q' });
      const replaced = ok<ModelConfig>(res, 200);
      expect(res.headers.etag).toBe('"2"');
      expect(replaced).toEqual({
        ...original,
        modelId: 'replacement',
        modelName: 'Replacement',
        provider: 'q',
        parameters: {},
        enabled: true,
        version: 2,
        updatedAt: expect.stringMatching(ISO_UTC),
      });
      expect(await api.ofUsageType(ut)).toEqual([replaced]);
    });

    it('accepts usageType and priority in the body when they repeat the path', async () => {
      const ut = unique();
      const res = await api
        .http()
        .put(slot(ut, 3))
        .send({ usageType: ut, priority: 3, modelId: 'm', modelName: 'M', provider: 'p' });
      expect(ok<ModelConfig>(res, 201)).toMatchObject({ usageType: ut, priority: 3 });
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['another usageType', { usageType: 'elsewhere' }, 'usageType'],
      ['another priority', { priority: 9 }, 'priority'],
      ['priority as a string', { priority: '3' }, 'priority'],
    ])('rejects %s in the body with 400, storing nothing', async (_label, extra, field) => {
      const ut = unique();
      const res = await api
        .http()
        .put(slot(ut, 3))
        .send({ modelId: 'm', modelName: 'M', provider: 'p', ...extra });
      expectValidation(res, field);
      expect(await api.ofUsageType(ut)).toEqual([]);
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['a missing modelId', { modelName: 'M', provider: 'p' }, 'modelId'],
      ['a bad provider', { modelId: 'm', modelName: 'M', provider: 'P!' }, 'provider'],
      [
        'parameters null',
        { modelId: 'm', modelName: 'M', provider: 'p', parameters: null },
        'parameters',
      ],
      ['an unknown field', { modelId: 'm', modelName: 'M', provider: 'p', x: 1 }, 'x'],
    ])('rejects %s with 400', async (_label, body, field) => {
      const ut = unique();
      expectValidation(await api.http().put(slot(ut, 1)).send(body), field);
      expect(await api.ofUsageType(ut)).toEqual([]);
    });

    it.each(['*', '"1"'])('answers 412 for If-Match %s on an empty slot', async (ifMatch) => {
      const ut = unique();
      const res = await api
        .http()
        .put(slot(ut, 1))
        .set('If-Match', ifMatch)
        .send({ modelId: 'm', modelName: 'M', provider: 'p' });
      expectError(res, 412, 'VERSION_MISMATCH');
      expect(await api.ofUsageType(ut)).toEqual([]);
    });

    it('honours If-Match on a full slot', async () => {
      const ut = unique();
      const original = await api.create(configBody(ut, 1));
      const body = { modelId: 'm2', modelName: 'M2', provider: 'p' };
      expectError(
        await api.http().put(slot(ut, 1)).set('If-Match', '"2"').send(body),
        412,
        'VERSION_MISMATCH',
      );
      expect(await api.get(original.id)).toEqual(original);
      const res = await api.http().put(slot(ut, 1)).set('If-Match', '"1"').send(body);
      expect(ok<ModelConfig>(res)).toMatchObject({ id: original.id, modelId: 'm2', version: 2 });
      const star = await api.http().put(slot(ut, 1)).set('If-Match', '*').send(body);
      expect(ok<ModelConfig>(star)).toMatchObject({ id: original.id, version: 3 });
      expectValidation(
        await api.http().put(slot(ut, 1)).set('If-Match', 'abc').send(body),
        'If-Match',
      );
    });

    it.each<[string | number, string]>([
      [0, 'priority'],
      [1001, 'priority'],
      ['1.5', 'priority'],
      ['abc', 'priority'],
      ['-1', 'priority'],
      ['1e2', 'priority'],
    ])('answers 400 for the path priority %s', async (priority, field) => {
      const ut = unique();
      const res = await api
        .http()
        .put(slot(ut, priority))
        .send({ modelId: 'm', modelName: 'M', provider: 'p' });
      expectValidation(res, field);
      expect(await api.ofUsageType(ut)).toEqual([]);
    });

    it('answers 400 for a bad path usageType', async () => {
      const res = await api
        .http()
        .put(slot('Bad_Type', 1))
        .send({ modelId: 'm', modelName: 'M', provider: 'p' });
      expectValidation(res, 'usageType');
    });
  });

  describe('DELETE /model-configs/by-slot/:usageType/:priority', () => {
    it('answers 204, then 404', async () => {
      const ut = unique();
      const [one, two] = await api.createMany([configBody(ut, 1), configBody(ut, 2)]);
      const res = await api.http().delete(`${API}/model-configs/by-slot/${ut}/1`);
      ok(res, 204);
      expect(res.text).toBe('');
      await api.expectGone(one.id);
      expect(await api.ofUsageType(ut)).toEqual([two]);
      expectError(
        await api.http().delete(`${API}/model-configs/by-slot/${ut}/1`),
        404,
        'NOT_FOUND',
      );
    });

    it('answers 400 for a bad usageType or priority', async () => {
      expectValidation(await api.http().delete(`${API}/model-configs/by-slot/UT/1`), 'usageType');
      expectValidation(await api.http().delete(`${API}/model-configs/by-slot/ut/0`), 'priority');
      expectValidation(await api.http().delete(`${API}/model-configs/by-slot/ut/x`), 'priority');
    });
  });

  describe('POST /model-configs/bulk', () => {
    const bulk = (items: unknown): Promise<Response> =>
      api.http().post(`${API}/model-configs/bulk`).send({ items });

    it('creates every item: 201 {created, items}', async () => {
      const ut = unique();
      const bodies = [configBody(ut, 2), configBody(ut, 1, { enabled: false }), configBody(ut, 3)];
      const body = ok<{ created: number; items: ModelConfig[] }>(await bulk(bodies), 201);
      expect(body.created).toBe(3);
      expect(body.items).toHaveLength(3);
      body.items.forEach((item, i) => expectFreshConfig(item, bodies[i]));
      const stored = await api.ofUsageType(ut);
      expect(stored).toEqual([body.items[1], body.items[0], body.items[2]]);
    });

    it('rejects an invalid item with 400 and stores nothing', async () => {
      const ut = unique();
      const res = await bulk([configBody(ut, 1), configBody(ut, 0), configBody(ut, 3)]);
      expectValidation(res, 'priority');
      expect(await api.ofUsageType(ut)).toEqual([]);
    });

    it('rejects an item with an unknown field with 400 and stores nothing', async () => {
      const ut = unique();
      expectValidation(
        await bulk([configBody(ut, 1), { ...configBody(ut, 2), extra: 1 }]),
        'extra',
      );
      expect(await api.ofUsageType(ut)).toEqual([]);
    });

    it('answers 409 for a duplicate slot inside the batch and stores NOTHING', async () => {
      const ut = unique();
      const res = await bulk([configBody(ut, 1), configBody(ut, 2), configBody(ut, 1)]);
      expectError(res, 409, 'SLOT_TAKEN');
      expect(await api.ofUsageType(ut)).toEqual([]);
    });

    it('answers 409 for a slot taken before and stores NOTHING of the batch', async () => {
      const ut = unique();
      const existing = await api.create(configBody(ut, 5));
      const res = await bulk([configBody(ut, 1), configBody(ut, 2), configBody(ut, 5)]);
      expectError(res, 409, 'SLOT_TAKEN');
      expect(await api.ofUsageType(ut)).toEqual([existing]);
    });

    it('accepts 1000 items', async () => {
      const ut = unique();
      const items = Array.from({ length: 1000 }, (_, i) => configBody(ut, i + 1));
      const body = ok<{ created: number; items: ModelConfig[] }>(await bulk(items), 201);
      expect(body.created).toBe(1000);
      expect((await api.list(`usageType=${ut}&limit=1`)).total).toBe(1000);
    }, 60_000);

    it.each<[string, unknown]>([
      ['0 items', []],
      [
        '1001 items',
        Array.from({ length: 1001 }, (_, i) => configBody('too-many', (i % 1000) + 1)),
      ],
      ['items not an array', { a: 1 }],
      ['items a string', 'x'],
      ['items null', null],
      ['an item that is not an object', [1]],
    ])('rejects %s with 400', async (_label, items) => {
      expectValidation(await bulk(items), 'items');
      expect(await api.ofUsageType('too-many')).toEqual([]);
    });

    it('rejects a missing items field and unknown top-level fields with 400', async () => {
      expectValidation(await api.http().post(`${API}/model-configs/bulk`).send({}), 'items');
      const ut = unique();
      expectValidation(
        await api
          .http()
          .post(`${API}/model-configs/bulk`)
          .send({ items: [configBody(ut, 1)], dryRun: true }),
        'dryRun',
      );
      expect(await api.ofUsageType(ut)).toEqual([]);
    });
  });

  describe('read after write', () => {
    it('every read path reflects each write as soon as it is answered', async () => {
      const ut = unique('raw');
      const provider = unique('rawp');
      const http = api.http();
      await expectReadsReflect(api, ut, provider, []);

      const a = await api.create(configBody(ut, 2, { provider, modelId: 'model-b' }));
      await expectReadsReflect(api, ut, provider, [a]);

      const b = await api.create(configBody(ut, 1, { provider, modelId: 'model-a' }));
      await expectReadsReflect(api, ut, provider, [a, b]);

      const bDisabled = await api.patch(b.id, { enabled: false });
      await expectReadsReflect(api, ut, provider, [a, bDisabled]);

      const aMoved = await api.patch(a.id, { priority: 7, modelId: 'model-c' });
      await expectReadsReflect(api, ut, provider, [aMoved, bDisabled]);

      const replaced = ok<ModelConfig>(
        await http
          .put(`${API}/model-configs/by-slot/${ut}/1`)
          .send({ modelId: 'model-d', modelName: 'D', provider }),
      );
      await expectReadsReflect(api, ut, provider, [aMoved, replaced]);

      const created = ok<ModelConfig>(
        await http
          .put(`${API}/model-configs/by-slot/${ut}/3`)
          .send({ modelId: 'model-d', modelName: 'D again', provider, enabled: false }),
        201,
      );
      await expectReadsReflect(api, ut, provider, [aMoved, replaced, created]);

      const bulk = ok<{ items: ModelConfig[] }>(
        await http
          .post(`${API}/model-configs/bulk`)
          .send({ items: [configBody(ut, 9, { provider, modelId: 'model-e' })] }),
        201,
      );
      await expectReadsReflect(api, ut, provider, [aMoved, replaced, created, ...bulk.items]);

      ok(await http.delete(`${API}/model-configs/${replaced.id}`), 204);
      await expectReadsReflect(api, ut, provider, [aMoved, created, ...bulk.items], [replaced.id]);

      ok(await http.delete(`${API}/model-configs/by-slot/${ut}/7`), 204);
      await expectReadsReflect(api, ut, provider, [created, ...bulk.items], [aMoved.id]);

      const chain = ok<{ items: ModelConfig[] }>(
        await http.put(`${API}/usage-types/${ut}/chain`).send({
          items: [
            { modelId: 'model-z', modelName: 'Z', provider },
            { modelId: 'model-y', modelName: 'Y', provider, enabled: false },
          ],
        }),
      );
      await expectReadsReflect(api, ut, provider, chain.items, [created.id, bulk.items[0].id]);

      for (const config of chain.items)
        ok(await http.delete(`${API}/model-configs/${config.id}`), 204);
      await expectReadsReflect(
        api,
        ut,
        provider,
        [],
        chain.items.map((c) => c.id),
      );
    }, 30_000);

    it('reads reflect concurrent writes once they are all answered', async () => {
      const ut = unique('conc');
      const provider = unique('concp');
      const created = await Promise.all(
        Array.from({ length: 12 }, (_, i) => api.create(configBody(ut, i + 1, { provider }))),
      );
      await expectReadsReflect(api, ut, provider, created);
      const patched = await Promise.all(
        created.map((config) => api.patch(config.id, { enabled: config.priority % 2 === 0 })),
      );
      await expectReadsReflect(api, ut, provider, patched);
    }, 30_000);
  });
});

describe.each(MODES)('seeding and reset (%s mode)', (_mode, modeEnv) => {
  describe('with SEED_ON_EMPTY (default)', () => {
    let app: TestApp;
    let api: ApiClient;

    beforeAll(async () => {
      app = await startTestApp(modeEnv);
      api = new ApiClient(app.url);
    });

    afterAll(async () => {
      await app?.close();
    });

    it('seeds exactly the nine defaults at startup', async () => {
      const page = await api.list('limit=1000');
      expect(page.total).toBe(9);
      expect(page.items.map(({ id: _i, createdAt: _c, updatedAt: _u, ...rest }) => rest)).toEqual(
        DEFAULTS,
      );
      for (const config of page.items) {
        expect(config.id).toMatch(UUID_V4);
        expect(config.createdAt).toMatch(ISO_UTC);
      }
      const summaries = await api.summaries();
      expect(summaries.map((s) => s.usageType).sort()).toEqual(DEFAULTS.map((d) => d.usageType));
    });

    it('seed inserts nothing while the defaults are there', async () => {
      const res = await api.http().post(`${API}/model-configs/seed`);
      expect(ok<unknown>(res)).toEqual({ inserted: 0 });
      expect((await api.list()).total).toBe(9);
    });

    it('seed refills only free default slots and never overwrites', async () => {
      ok(await api.http().delete(`${API}/model-configs/by-slot/embedding/1`), 204);
      const custom = ok<ModelConfig>(
        await api
          .http()
          .put(`${API}/model-configs/by-slot/chat_title/1`)
          .send({ modelId: 'custom/title', modelName: 'Custom', provider: 'custom' }),
      );
      expect(ok<unknown>(await api.http().post(`${API}/model-configs/seed`))).toEqual({
        inserted: 1,
      });
      const embedding = await api.ofUsageType('embedding');
      expect(embedding).toHaveLength(1);
      expect(embedding[0]).toMatchObject(DEFAULTS[5]);
      expect(await api.ofUsageType('chat_title')).toEqual([custom]);
      expect(ok<unknown>(await api.http().post(`${API}/model-configs/seed`))).toEqual({
        inserted: 0,
      });
    });

    it('reset deletes everything and seeds the nine defaults', async () => {
      await api.createMany([configBody(unique(), 1), configBody(unique(), 2)]);
      const before = (await api.list('limit=1000')).total;
      const res = await api.http().post(`${API}/model-configs/reset`);
      expect(ok<unknown>(res)).toEqual({ deleted: before, inserted: 9 });
      const page = await api.list('limit=1000');
      expect(page.items.map(({ id: _i, createdAt: _c, updatedAt: _u, ...rest }) => rest)).toEqual(
        DEFAULTS,
      );
      expect(ok<unknown>(await api.http().post(`${API}/model-configs/reset`))).toEqual({
        deleted: 9,
        inserted: 9,
      });
      expect(await api.ofUsageType('chat_title')).toEqual([
        expect.objectContaining({ modelId: 'openrouter/auto', version: 1 }),
      ]);
    });
  });

  describe('with SEED_ON_EMPTY=false', () => {
    let app: TestApp;
    let api: ApiClient;

    beforeAll(async () => {
      app = await startTestApp({ ...modeEnv, SEED_ON_EMPTY: 'false' });
      api = new ApiClient(app.url);
    });

    afterAll(async () => {
      await app?.close();
    });

    it('starts empty', async () => {
      expect(await api.list()).toEqual({ items: [], total: 0, limit: 100, offset: 0 });
      expect(await api.summaries()).toEqual([]);
      expect(await api.providerModels('openrouter')).toEqual([]);
    });

    it('seed inserts the nine defaults, then nothing', async () => {
      expect(ok<unknown>(await api.http().post(`${API}/model-configs/seed`))).toEqual({
        inserted: 9,
      });
      expect(ok<unknown>(await api.http().post(`${API}/model-configs/seed`))).toEqual({
        inserted: 0,
      });
      const page = await api.list();
      expect(page.items.map(({ id: _i, createdAt: _c, updatedAt: _u, ...rest }) => rest)).toEqual(
        DEFAULTS,
      );
    });

    it('reset answers {deleted, inserted: 9}', async () => {
      await api.create(configBody(unique(), 1));
      expect(ok<unknown>(await api.http().post(`${API}/model-configs/reset`))).toEqual({
        deleted: 10,
        inserted: 9,
      });
      expect((await api.list()).total).toBe(9);
    });
  });
});
