import fc from 'fast-check';
import { ApiClient } from '../support/api';
import {
  API,
  type ModelConfig,
  type UsageTypeSummary,
  configBody,
  expectValidation,
  ok,
  unique,
} from '../support/http';
import { type TestApp, startTestApp } from '../support/test-app';

const KEY = 'hardening-key-0123';
/** Every own property name of `Object.prototype`: the names that break code keying plain objects. */
const MEMBERS = Object.getOwnPropertyNames(Object.prototype);
const SLUG = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
/** The member names that are valid usage types and providers (only `constructor`). */
const SLUG_MEMBERS = MEMBERS.filter((name) => SLUG.test(name));
/** The member names a slug field must refuse with a 400 naming the field. */
const NON_SLUG_MEMBERS = MEMBERS.filter((name) => !SLUG.test(name));

describe('Object.prototype member names are data', () => {
  let app: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    app = await startTestApp({ API_KEY: KEY });
    api = new ApiClient(app.url, { 'X-API-Key': KEY });
  });

  afterAll(async () => {
    await app?.close();
  });

  const http = () => api.http();
  const seg = encodeURIComponent;

  it('has names to test: constructor is a slug, the other eleven are not', () => {
    expect(SLUG_MEMBERS).toEqual(['constructor']);
    expect(NON_SLUG_MEMBERS).toHaveLength(MEMBERS.length - 1);
    expect(MEMBERS).toEqual(expect.arrayContaining(['__proto__', 'toString', 'valueOf']));
  });

  it.each(SLUG_MEMBERS)(
    'serves usage type and provider %s on every route, with member names as model ids',
    async (name) => {
      // Writes: create, by-slot upsert, bulk, PATCH; model ids are the other member names.
      const [first, second, third, fourth] = MEMBERS.filter((m) => m !== name);
      const created = await api.create(configBody(name, 1, { provider: name, modelId: first }));
      ok(
        await http()
          .put(`${API}/model-configs/by-slot/${name}/2`)
          .set(api.writeHeaders)
          .send({ modelId: second, modelName: second, provider: name }),
        201,
      );
      ok(
        await http()
          .post(`${API}/model-configs/bulk`)
          .set(api.writeHeaders)
          .send({
            items: [
              configBody(name, 3, { provider: name, modelId: third }),
              configBody(name, 4, { provider: name, modelId: fourth, enabled: false }),
            ],
          }),
        201,
      );
      const patched = await api.patch(created.id, { modelName: name }, '"1"');
      expect(patched).toMatchObject({ usageType: name, provider: name, modelName: name });

      // Reads: every route that takes or returns a usage type or provider.
      const grouped = await api.grouped();
      expect(Object.keys(grouped)).toContain(name);
      expect(Object.hasOwn(grouped, name)).toBe(true);
      expect(grouped[name].map((c) => c.modelId)).toEqual([first, second, third, fourth]);
      const summaries = await api.summaries();
      expect(summaries.find((s) => s.usageType === name)).toEqual<UsageTypeSummary>({
        usageType: name,
        total: 4,
        enabled: 3,
        activeModelId: first,
      });
      expect((await api.list(`usageType=${name}`)).total).toBe(4);
      expect(
        (await api.list(`provider=${name}&enabled=false`)).items.map((c) => c.modelId),
      ).toEqual([fourth]);
      expect(ok<ModelConfig>(await http().get(`${API}/usage-types/${name}/active`)).id).toBe(
        created.id,
      );
      expect(ok(await http().get(`${API}/usage-types/${name}/fallback-chain`))).toEqual({
        usageType: name,
        modelIds: [first, second, third],
      });
      for (const modelId of [first, second, third]) {
        const valid = ok<{ valid: boolean; config: ModelConfig }>(
          await http().get(`${API}/usage-types/${name}/models/${seg(modelId)}`),
        );
        expect(valid).toMatchObject({ valid: true, config: { modelId } });
      }
      expect(await api.providerModels(name)).toEqual([first, second, third].sort());
      expect(await api.get(created.id)).toMatchObject({ usageType: name, version: 2 });

      // Chain replace and by-slot delete.
      const chain = ok<{ usageType: string; items: ModelConfig[] }>(
        await http()
          .put(`${API}/usage-types/${name}/chain`)
          .set(api.writeHeaders)
          .send({ items: [{ modelId: name, modelName: name, provider: name }] }),
      );
      expect(chain.items.map((c) => [c.priority, c.modelId])).toEqual([[1, name]]);
      expect((await api.grouped())[name].map((c) => c.modelId)).toEqual([name]);
      ok(await http().delete(`${API}/model-configs/by-slot/${name}/1`).set(api.writeHeaders), 204);
      expect(Object.hasOwn(await api.grouped(), name)).toBe(false);
    },
  );

  it.each(NON_SLUG_MEMBERS)(
    'refuses %s as a usage type or provider with a 400 naming the field on every route',
    async (name) => {
      const ut = unique('proto');
      const writes = api.writeHeaders;
      const cases: [Promise<{ status: number }>, string][] = [
        [http().get(`${API}/model-configs?usageType=${seg(name)}`), 'usageType'],
        [http().get(`${API}/model-configs?provider=${seg(name)}`), 'provider'],
        [http().get(`${API}/usage-types/${seg(name)}/active`), 'usageType'],
        [http().get(`${API}/usage-types/${seg(name)}/fallback-chain`), 'usageType'],
        [http().get(`${API}/usage-types/${seg(name)}/models/m`), 'usageType'],
        [http().get(`${API}/providers/${seg(name)}/models`), 'provider'],
        [http().post(`${API}/model-configs`).set(writes).send(configBody(name)), 'usageType'],
        [
          http()
            .post(`${API}/model-configs`)
            .set(writes)
            .send(configBody(ut, 1, { provider: name })),
          'provider',
        ],
        [
          http()
            .post(`${API}/model-configs/bulk`)
            .set(writes)
            .send({ items: [configBody(ut, 1, { provider: name })] }),
          'items.0.provider',
        ],
        [
          http()
            .put(`${API}/model-configs/by-slot/${seg(name)}/1`)
            .set(writes)
            .send({ modelId: 'm', modelName: 'm', provider: 'p' }),
          'usageType',
        ],
        [
          http()
            .delete(`${API}/model-configs/by-slot/${seg(name)}/1`)
            .set(writes),
          'usageType',
        ],
        [
          http()
            .put(`${API}/usage-types/${seg(name)}/chain`)
            .set(writes)
            .send({ items: [{ modelId: 'm', modelName: 'm', provider: 'p' }] }),
          'usageType',
        ],
        [
          http()
            .put(`${API}/usage-types/${ut}/chain`)
            .set(writes)
            .send({ items: [{ modelId: 'm', modelName: 'm', provider: name }] }),
          'items.0.provider',
        ],
      ];
      for (const [pending, field] of cases) {
        expectValidation((await pending) as never, field);
      }
      const existing = await api.create(configBody(ut));
      expectValidation(
        await http()
          .patch(`${API}/model-configs/${existing.id}`)
          .set(writes)
          .send({ usageType: name }),
        'usageType',
      );
      expect(await api.ofUsageType(ut)).toEqual([existing]);
    },
  );

  it('refuses a body field named like a member as an unknown field, instead of dropping it', async () => {
    const ut = unique('proto');
    for (const name of MEMBERS.filter((m) => m !== '__proto__')) {
      const body = JSON.stringify({ ...configBody(ut), [name]: 1 });
      expectValidation(
        await http()
          .post(`${API}/model-configs`)
          .set(api.writeHeaders)
          .set('Content-Type', 'application/json')
          .send(body),
        `property ${name} should not exist`,
      );
      expectValidation(
        await http()
          .put(`${API}/usage-types/${ut}/chain`)
          .set(api.writeHeaders)
          .set('Content-Type', 'application/json')
          .send(`{"items":[{"modelId":"m","modelName":"m","provider":"p","${name}":{}}]}`),
        `items.0.property ${name} should not exist`,
      );
      expectValidation(
        await http().get(`${API}/model-configs?${name}=1`),
        `property ${name} should not exist`,
      );
    }
    expect(await api.ofUsageType(ut)).toEqual([]);
  });

  it('refuses __proto__ in a body or in parameters with 400 and stores nothing', async () => {
    const ut = unique('proto');
    for (const body of [
      `{"__proto__":{"x":1},"usageType":"${ut}","priority":1,"modelId":"m","modelName":"m","provider":"p"}`,
      `{"usageType":"${ut}","priority":1,"modelId":"m","modelName":"m","provider":"p","parameters":{"a":{"__proto__":{}}}}`,
    ]) {
      expectValidation(
        await http()
          .post(`${API}/model-configs`)
          .set(api.writeHeaders)
          .set('Content-Type', 'application/json')
          .send(body),
        '__proto__',
      );
    }
    expect(await api.ofUsageType(ut)).toEqual([]);
  });

  describe('parameters round-trip exactly on every write path', () => {
    const PARAMETERS_MAX_BYTES = 16 * 1024;
    /** Keys: member names (except `__proto__`, which may be refused) and any other strings. */
    const key = fc.oneof(
      fc.constantFrom(...MEMBERS.filter((m) => m !== '__proto__'), 'prototype', 'toJSON'),
      fc.string({ unit: 'grapheme', maxLength: 12 }),
    );
    const scalar = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    const { value } = fc.letrec<{ value: unknown; object: Record<string, unknown> }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        scalar,
        tie('object'),
        fc.array(tie('value'), { maxLength: 4 }),
      ),
      object: fc.dictionary(key, tie('value'), { maxKeys: 6 }),
    }));
    /** A `parameters` object within the documented size (the depth of these stays far below 32). */
    const parameters = fc
      .dictionary(key, value, { maxKeys: 8 })
      .filter((p) => Buffer.byteLength(JSON.stringify(p)) <= PARAMETERS_MAX_BYTES);
    /** The exact text: key order, member names, number spelling (`-0` is sent as `0`). */
    const same = (actual: unknown, expected: unknown) =>
      expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));

    it('through create, PATCH, by-slot PUT, bulk and chain replace', async () => {
      const ut = unique('params');
      const slot = await api.create(configBody(ut, 1));
      let version = slot.version;
      let run = 0;
      await fc.assert(
        fc.asyncProperty(parameters, parameters, async (p, q) => {
          run++;
          const created = await api.create(configBody(ut, 100 + run, { parameters: p }));
          same(created.parameters, p);
          same((await api.get(created.id)).parameters, p);

          const patched = await api.patch(slot.id, { parameters: p }, `"${version}"`);
          version = patched.version;
          same(patched.parameters, p);
          same((await api.get(slot.id)).parameters, p);

          const upsert = ok<ModelConfig>(
            await http()
              .put(`${API}/model-configs/by-slot/${ut}/${100 + run}`)
              .set(api.writeHeaders)
              .send({ modelId: 'm', modelName: 'm', provider: 'p', parameters: q }),
          );
          same(upsert.parameters, q);
          same((await api.get(created.id)).parameters, q);

          const bulkUt = unique('bulk');
          const bulk = ok<{ items: ModelConfig[] }>(
            await http()
              .post(`${API}/model-configs/bulk`)
              .set(api.writeHeaders)
              .send({
                items: [
                  configBody(bulkUt, 1, { parameters: p }),
                  configBody(bulkUt, 2, { parameters: q }),
                ],
              }),
            201,
          );
          same(
            bulk.items.map((c) => c.parameters),
            [p, q],
          );
          same(
            (await api.ofUsageType(bulkUt)).map((c) => c.parameters),
            [p, q],
          );

          const chainUt = unique('chain');
          const chain = ok<{ items: ModelConfig[] }>(
            await http()
              .put(`${API}/usage-types/${chainUt}/chain`)
              .set(api.writeHeaders)
              .send({
                items: [
                  { modelId: 'a', modelName: 'a', provider: 'p', parameters: q },
                  { modelId: 'b', modelName: 'b', provider: 'p', parameters: p },
                ],
              }),
          );
          same(
            chain.items.map((c) => c.parameters),
            [q, p],
          );
          same(
            (await api.grouped())[chainUt].map((c) => c.parameters),
            [q, p],
          );
        }),
        { seed: 20261205, numRuns: 25, endOnFailure: true },
      );
    });
  });
});
