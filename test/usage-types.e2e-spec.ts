import type { Response } from 'supertest';
import { ApiClient, expectReadsReflect } from './support/api';
import {
  API,
  type ModelConfig,
  type UsageTypeSummary,
  configBody,
  expectError,
  expectValidation,
  ok,
  unique,
} from './support/http';
import { type TestApp, startTestApp } from './support/test-app';

const MODES: [string, Record<string, string>][] = [
  ['pool', {}],
  ['single', { DUCKDB_POOL_ENABLED: 'false' }],
];

interface ChainResponse {
  usageType: string;
  items: ModelConfig[];
}

describe.each(MODES)('usage types and providers (%s mode)', (_mode, modeEnv) => {
  let app: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    app = await startTestApp(modeEnv);
    api = new ApiClient(app.url);
  });

  afterAll(async () => {
    await app?.close();
  });

  /** Creates configs at priorities 1..n of a fresh usage type; `enabled[i]` for each. */
  async function chainOf(enabled: boolean[], provider = 'test-provider'): Promise<ModelConfig[]> {
    const ut = unique();
    return api.createMany(
      enabled.map((on, i) =>
        configBody(ut, (i + 1) * 10, { enabled: on, modelId: `model-${ut}-${i}`, provider }),
      ),
    );
  }

  const put = (ut: string, items: unknown): Promise<Response> =>
    api.http().put(`${API}/usage-types/${ut}/chain`).send({ items });

  describe('GET /usage-types', () => {
    it('summarizes total, enabled and the active model of each usage type', async () => {
      const [first, second, third] = await chainOf([false, true, true]);
      const summaries = await api.summaries();
      expect(summaries.find((s) => s.usageType === first.usageType)).toEqual({
        usageType: first.usageType,
        total: 3,
        enabled: 2,
        activeModelId: second.modelId,
      });
      expect(third.enabled).toBe(true);
      expect(summaries.find((s) => s.usageType === 'chat_deep')).toEqual({
        usageType: 'chat_deep',
        total: 1,
        enabled: 1,
        activeModelId: 'openrouter/auto',
      });
      for (const summary of summaries) {
        expect(Object.keys(summary).sort()).toEqual([
          'activeModelId',
          'enabled',
          'total',
          'usageType',
        ]);
        expect(Number.isInteger(summary.total)).toBe(true);
        expect(Number.isInteger(summary.enabled)).toBe(true);
      }
      expect(new Set(summaries.map((s) => s.usageType)).size).toBe(summaries.length);
    });

    it('reports activeModelId null and enabled 0 when every config is disabled', async () => {
      const [config] = await chainOf([false, false]);
      const summary = (await api.summaries()).find((s) => s.usageType === config.usageType);
      expect(summary).toEqual<UsageTypeSummary>({
        usageType: config.usageType,
        total: 2,
        enabled: 0,
        activeModelId: null,
      });
    });

    it('follows the active model as configs are disabled and enabled', async () => {
      const [first, second] = await chainOf([true, true]);
      const active = async (): Promise<UsageTypeSummary | undefined> =>
        (await api.summaries()).find((s) => s.usageType === first.usageType);
      expect((await active())?.activeModelId).toBe(first.modelId);
      await api.patch(first.id, { enabled: false });
      expect(await active()).toMatchObject({ enabled: 1, activeModelId: second.modelId });
      await api.patch(second.id, { enabled: false });
      expect(await active()).toMatchObject({ enabled: 0, activeModelId: null });
      await api.patch(first.id, { enabled: true });
      expect(await active()).toMatchObject({ enabled: 1, activeModelId: first.modelId });
    });
  });

  describe('GET /usage-types/:usageType/active', () => {
    it('returns the enabled config with the lowest priority, with its ETag', async () => {
      const [, second] = await chainOf([false, true, true]);
      const res = await api.http().get(`${API}/usage-types/${second.usageType}/active`);
      expect(ok<ModelConfig>(res)).toEqual(second);
      expect(res.headers.etag).toBe(`"${second.version}"`);
    });

    it('answers 404 when no config is enabled, without echoing the usage type', async () => {
      const [config] = await chainOf([false, false]);
      const body = expectError(
        await api.http().get(`${API}/usage-types/${config.usageType}/active`),
        404,
        'NOT_FOUND',
      );
      expect(JSON.stringify(body)).not.toContain(config.usageType);
    });

    it('answers 404 for a usage type without any config', async () => {
      const ut = unique('none');
      const body = expectError(
        await api.http().get(`${API}/usage-types/${ut}/active`),
        404,
        'NOT_FOUND',
      );
      expect(JSON.stringify(body)).not.toContain(ut);
    });

    it.each(['Chat', 'a'.repeat(65), '_x', 'a%20b', "x'%20OR%20'1'='1"])(
      'answers 400 naming usageType for %s',
      async (ut) => {
        expectValidation(await api.http().get(`${API}/usage-types/${ut}/active`), 'usageType');
      },
    );
  });

  describe('GET /usage-types/:usageType/fallback-chain', () => {
    it('lists the enabled model ids by priority', async () => {
      const configs = await chainOf([true, false, true, true]);
      const ut = configs[0].usageType;
      const body = ok<unknown>(await api.http().get(`${API}/usage-types/${ut}/fallback-chain`));
      expect(body).toEqual({
        usageType: ut,
        modelIds: [configs[0].modelId, configs[2].modelId, configs[3].modelId],
      });
    });

    it('follows priority, not insertion order', async () => {
      const ut = unique();
      await api.createMany([
        configBody(ut, 30, { modelId: 'third' }),
        configBody(ut, 1, { modelId: 'first' }),
        configBody(ut, 7, { modelId: 'second' }),
      ]);
      const body = ok<unknown>(await api.http().get(`${API}/usage-types/${ut}/fallback-chain`));
      expect(body).toEqual({ usageType: ut, modelIds: ['first', 'second', 'third'] });
    });

    it('is an empty list when no config is enabled', async () => {
      const [config] = await chainOf([false, false]);
      const res = await api.http().get(`${API}/usage-types/${config.usageType}/fallback-chain`);
      expect(ok<unknown>(res)).toEqual({ usageType: config.usageType, modelIds: [] });
    });

    it('answers 404 when the usage type has no config at all', async () => {
      const ut = unique('none');
      const res = await api.http().get(`${API}/usage-types/${ut}/fallback-chain`);
      expect(JSON.stringify(expectError(res, 404, 'NOT_FOUND'))).not.toContain(ut);
    });

    it('answers 400 for a bad usage type', async () => {
      expectValidation(await api.http().get(`${API}/usage-types/NOPE/fallback-chain`), 'usageType');
    });
  });

  describe('GET /usage-types/:usageType/models/:modelId', () => {
    it('answers {valid: true, config} for an enabled config of that usage type', async () => {
      const [config] = await chainOf([true]);
      const res = await api
        .http()
        .get(`${API}/usage-types/${config.usageType}/models/${config.modelId}`);
      expect(ok<unknown>(res)).toEqual({ valid: true, config });
    });

    it('handles model ids with slashes, colons and spaces (URL-encoded)', async () => {
      for (const [ut, modelId] of [
        ['chat_deep', 'openrouter/auto'],
        ['inference', 'llama3.1:8b'],
      ]) {
        const res = await api
          .http()
          .get(`${API}/usage-types/${ut}/models/${encodeURIComponent(modelId)}`);
        expect(ok<{ valid: boolean; config: ModelConfig }>(res)).toEqual({
          valid: true,
          config: expect.objectContaining({ usageType: ut, modelId, enabled: true }),
        });
      }
      const ut = unique();
      const config = await api.create(configBody(ut, 1, { modelId: 'org/model name:v1.2@x' }));
      const res = await api
        .http()
        .get(`${API}/usage-types/${ut}/models/${encodeURIComponent(config.modelId)}`);
      expect(ok<unknown>(res)).toEqual({ valid: true, config });
    });

    it('answers 404 with the standard body plus valid: false for a disabled config', async () => {
      const [config] = await chainOf([false]);
      const res = await api
        .http()
        .get(`${API}/usage-types/${config.usageType}/models/${config.modelId}`);
      const body = expectError(res, 404, 'NOT_FOUND');
      expect(body.valid).toBe(false);
      expect(Object.keys(body).sort()).toEqual(['code', 'error', 'message', 'statusCode', 'valid']);
      expect(JSON.stringify(body)).not.toContain(config.modelId);
    });

    it('answers 404 valid: false for an unknown model or another usage type’s model', async () => {
      const [config] = await chainOf([true]);
      const [other] = await chainOf([true]);
      for (const path of [
        `${config.usageType}/models/unknown-model`,
        `${config.usageType}/models/${other.modelId}`,
        `${unique('none')}/models/${config.modelId}`,
      ]) {
        const body = expectError(
          await api.http().get(`${API}/usage-types/${path}`),
          404,
          'NOT_FOUND',
        );
        expect(body.valid).toBe(false);
      }
    });

    it('is valid when any enabled config of the usage type runs the model', async () => {
      const ut = unique();
      await api.create(configBody(ut, 1, { modelId: 'shared', enabled: false }));
      const enabled = await api.create(configBody(ut, 2, { modelId: 'shared' }));
      const res = await api.http().get(`${API}/usage-types/${ut}/models/shared`);
      expect(ok<unknown>(res)).toEqual({ valid: true, config: enabled });
    });

    it('answers 400 for a bad usage type or a model id with control characters', async () => {
      expectValidation(await api.http().get(`${API}/usage-types/BAD/models/x`), 'usageType');
      expectValidation(
        await api.http().get(`${API}/usage-types/chat_deep/models/a%07b`),
        'modelId',
      );
      expectValidation(
        await api.http().get(`${API}/usage-types/chat_deep/models/${'m'.repeat(257)}`),
        'modelId',
      );
    });
  });

  describe('GET /providers/:provider/models', () => {
    it('lists distinct enabled model ids, sorted', async () => {
      const provider = unique('prov');
      const ut = unique();
      const other = unique();
      await api.createMany([
        configBody(ut, 1, { provider, modelId: 'zeta' }),
        configBody(ut, 2, { provider, modelId: 'alpha' }),
        configBody(ut, 3, { provider, modelId: 'mid/model:1' }),
        configBody(other, 1, { provider, modelId: 'alpha' }),
        configBody(other, 2, { provider, modelId: 'disabled-only', enabled: false }),
        configBody(other, 3, { provider: unique('elsewhere'), modelId: 'not-mine' }),
      ]);
      expect(await api.providerModels(provider)).toEqual(['alpha', 'mid/model:1', 'zeta']);
    });

    it('lists the defaults of the seeded providers', async () => {
      expect(await api.providerModels('ollama')).toEqual(
        expect.arrayContaining(['llama3.1:8b', 'nomic-embed-text']),
      );
      expect(await api.providerModels('openrouter')).toContain('openrouter/auto');
    });

    it('gives an empty list for an unknown provider', async () => {
      const provider = unique('unknown');
      const res = await api.http().get(`${API}/providers/${provider}/models`);
      expect(ok<unknown>(res)).toEqual({ provider, modelIds: [] });
    });

    it.each(['OpenAI', 'p'.repeat(65), '-x', 'a%20b', 'a%27--'])(
      'answers 400 naming provider for %s',
      async (provider) => {
        expectValidation(await api.http().get(`${API}/providers/${provider}/models`), 'provider');
      },
    );
  });

  describe('PUT /usage-types/:usageType/chain', () => {
    it('replaces the chain atomically with priorities 1..n in the given order', async () => {
      const old = await chainOf([true, false, true]);
      const ut = old[0].usageType;
      const items = [
        { modelId: 'c-first', modelName: 'First', provider: 'p1' },
        { modelId: 'c-second', modelName: 'Second', provider: 'p2', enabled: false },
        { modelId: 'c-third', modelName: 'Third', provider: 'p1', parameters: { t: 0.5 } },
      ];
      const body = ok<ChainResponse>(await put(ut, items));
      expect(body.usageType).toBe(ut);
      expect(body.items.map((c) => [c.priority, c.modelId, c.enabled, c.parameters])).toEqual([
        [1, 'c-first', true, {}],
        [2, 'c-second', false, {}],
        [3, 'c-third', true, { t: 0.5 }],
      ]);
      for (const item of body.items) expect(item).toMatchObject({ usageType: ut, version: 1 });
      expect(await api.ofUsageType(ut)).toEqual(body.items);
      for (const gone of old) await api.expectGone(gone.id);
      const chain = ok<unknown>(await api.http().get(`${API}/usage-types/${ut}/fallback-chain`));
      expect(chain).toEqual({ usageType: ut, modelIds: ['c-first', 'c-third'] });
    });

    it('creates a chain for a usage type without configs, and replaces it again', async () => {
      const ut = unique();
      const first = ok<ChainResponse>(
        await put(ut, [{ modelId: 'a', modelName: 'A', provider: 'p' }]),
      );
      expect(first.items).toHaveLength(1);
      const second = ok<ChainResponse>(
        await put(ut, [
          { modelId: 'b', modelName: 'B', provider: 'p' },
          { modelId: 'a', modelName: 'A', provider: 'p' },
        ]),
      );
      expect(second.items.map((c) => [c.priority, c.modelId])).toEqual([
        [1, 'b'],
        [2, 'a'],
      ]);
      expect(await api.ofUsageType(ut)).toEqual(second.items);
      await api.expectGone(first.items[0].id);
    });

    it('accepts 100 items', async () => {
      const ut = unique();
      const items = Array.from({ length: 100 }, (_, i) => ({
        modelId: `m-${i}`,
        modelName: `M ${i}`,
        provider: 'p',
      }));
      const body = ok<ChainResponse>(await put(ut, items));
      expect(body.items.map((c) => c.priority)).toEqual(items.map((_, i) => i + 1));
      expect((await api.list(`usageType=${ut}`)).total).toBe(100);
    });

    it.each<[string, unknown, string]>([
      [
        'an item with an empty modelId',
        [{ modelId: '', modelName: 'x', provider: 'p' }],
        'modelId',
      ],
      [
        'an item with a bad provider',
        [{ modelId: 'x', modelName: 'x', provider: 'P Q' }],
        'provider',
      ],
      [
        'an item with parameters []',
        [{ modelId: 'x', modelName: 'x', provider: 'p', parameters: [] }],
        'parameters',
      ],
      [
        'an item with enabled "no"',
        [{ modelId: 'x', modelName: 'x', provider: 'p', enabled: 'no' }],
        'enabled',
      ],
      [
        'an item with a priority',
        [{ modelId: 'x', modelName: 'x', provider: 'p', priority: 1 }],
        'priority',
      ],
      [
        'an item with a usageType',
        [{ modelId: 'x', modelName: 'x', provider: 'p', usageType: 'y' }],
        'usageType',
      ],
      ['an item that is a string', ['x'], 'items'],
      ['0 items', [], 'items'],
      [
        '101 items',
        Array.from({ length: 101 }, (_, i) => ({
          modelId: `m${i}`,
          modelName: 'M',
          provider: 'p',
        })),
        'items',
      ],
      ['items as an object', { modelId: 'x' }, 'items'],
    ])('rejects %s with 400 and keeps the old chain whole', async (_label, items, field) => {
      const old = await chainOf([true, false, true]);
      const ut = old[0].usageType;
      const valid = { modelId: 'ok', modelName: 'OK', provider: 'p' };
      const body =
        Array.isArray(items) && items.length > 0 && items.length <= 100 ? [valid, ...items] : items;
      expectValidation(await put(ut, body), field);
      expect(await api.ofUsageType(ut)).toEqual(old);
    });

    it('rejects a missing items field, unknown fields and a bad usage type with 400', async () => {
      const old = await chainOf([true]);
      const ut = old[0].usageType;
      expectValidation(await api.http().put(`${API}/usage-types/${ut}/chain`).send({}), 'items');
      expectValidation(
        await api
          .http()
          .put(`${API}/usage-types/${ut}/chain`)
          .send({ items: [{ modelId: 'a', modelName: 'A', provider: 'p' }], replace: true }),
        'replace',
      );
      expectValidation(
        await put('Not_Valid', [{ modelId: 'a', modelName: 'A', provider: 'p' }]),
        'usageType',
      );
      expect(await api.ofUsageType(ut)).toEqual(old);
    });

    it('leaves other usage types alone', async () => {
      const [neighbour] = await chainOf([true]);
      const ut = unique();
      ok(await put(ut, [{ modelId: 'a', modelName: 'A', provider: 'p' }]));
      expect(await api.ofUsageType(neighbour.usageType)).toEqual([neighbour]);
    });
  });

  describe('read after write', () => {
    it('active, fallback chain, validation, summaries and provider models follow every write', async () => {
      const ut = unique('rw');
      const provider = unique('rwp');
      const long = (name: string): string => `${name}-with-a-model-id-longer-than-twelve-bytes`;
      await expectReadsReflect(api, ut, provider, []);
      const a = await api.create(configBody(ut, 5, { provider, modelId: long('a') }));
      await expectReadsReflect(api, ut, provider, [a]);
      const b = await api.create(
        configBody(ut, 2, { provider, modelId: long('b'), parameters: { temperature: 0.7 } }),
      );
      await expectReadsReflect(api, ut, provider, [a, b]);
      const bOff = await api.patch(b.id, { enabled: false });
      await expectReadsReflect(api, ut, provider, [a, bOff]);
      const chain = ok<ChainResponse>(
        await put(ut, [
          { modelId: long('c'), modelName: 'C', provider, enabled: false },
          { modelId: long('d'), modelName: 'D', provider },
        ]),
      );
      await expectReadsReflect(api, ut, provider, chain.items, [a.id, b.id]);
      const dOff = await api.patch(chain.items[1].id, { enabled: false });
      await expectReadsReflect(api, ut, provider, [chain.items[0], dOff]);
      ok(await api.http().delete(`${API}/model-configs/by-slot/${ut}/1`), 204);
      await expectReadsReflect(api, ut, provider, [dOff], [chain.items[0].id]);
    });
  });
});
