import { createClient, type RedisClientType } from '@keyv/redis';
import { ApiClient, expectReadsReflect } from '../support/api';
import { API, type ModelConfig, configBody, ok, unique } from '../support/http';
import { ResponseCache } from '@lib/query-cache';
import { type RedisServer, startRedis } from '../support/redis-server';
import { type TestApp, startTestApp } from '../support/test-app';

jest.setTimeout(20_000);

/** The body of `GET /health/cache` (API.md §3). */
interface CacheStats {
  store: 'memory' | 'redis';
  connected: boolean;
  hits: number;
  misses: number;
  hitRatio: number;
  errors: number;
  bypassed: number;
}

/** The app's cache namespace in Redis (`QueryCacheModule.forRootAsync` in app.module.ts). */
const NAMESPACE = 'model-configs';

/**
 * Each store with the response cache of the hot GET routes on (the default), and Redis also
 * with it off, so that every read goes through Nest to the store.
 */
const CONFIGS: ['redis' | 'memory', 'kept responses on' | 'kept responses off'][] = [
  ['redis', 'kept responses on'],
  ['redis', 'kept responses off'],
  ['memory', 'kept responses on'],
];

describe.each(CONFIGS)('query cache over HTTP (%s store, %s)', (store, responses) => {
  const keptResponses = responses === 'kept responses on';
  let redis: RedisServer | undefined;
  let redisClient: RedisClientType | undefined;
  let testApp: TestApp;
  let api: ApiClient;

  const cacheStats = async (): Promise<CacheStats> =>
    ok<CacheStats>(await api.http().get('/health/cache'));

  /**
   * Checks every cached read path for `usageType` (and `provider`, which only it uses): active,
   * fallback chain, model validation, grouped, usage-type summary, provider models, get by id
   * (and the uncached list, as the reference).
   */
  const reflects = (
    usageType: string,
    provider: string,
    expected: ModelConfig[],
    goneIds: string[] = [],
  ) => expectReadsReflect(api, usageType, provider, expected, goneIds, { grouped: true });

  beforeAll(async () => {
    if (store === 'redis') {
      redis = await startRedis();
      redisClient = createClient({ url: redis.url }) as RedisClientType;
      redisClient.on('error', () => undefined);
      await redisClient.connect();
    }
    testApp = await startTestApp({
      CACHE_STORE: store,
      ...(redis ? { REDIS_URL: redis.url } : {}),
      // These tests are about correctness: a cache call delayed by a busy event loop (other test
      // files run in parallel) must not turn an expected hit into a counted failure.
      // redis-outage.e2e-spec.ts runs with the default 50 ms.
      CACHE_OP_TIMEOUT_MS: '1000',
      CACHE_RESPONSE_ENTRIES: keptResponses ? '1000' : '0',
    });
    api = new ApiClient(testApp.url);
    if (redis) {
      // The client connects in the background; wait until the app reports it.
      const deadline = Date.now() + 5_000;
      while (!(await cacheStats()).connected) {
        if (Date.now() > deadline) throw new Error('The app did not connect to Redis');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
  });

  afterAll(async () => {
    await redisClient?.close().catch(() => redisClient?.destroy());
    await testApp?.close();
    await redis?.stop();
  });

  it('/health lists the cache under info, up and not degraded', async () => {
    const body = ok<{
      status: string;
      info: Record<string, { status: string } & Partial<CacheStats> & { degraded?: boolean }>;
    }>(await api.http().get('/health'));
    expect(body.status).toBe('ok');
    expect(body.info.cache).toEqual(
      expect.objectContaining({ status: 'up', store, connected: true, degraded: false }),
    );
    const stats = await cacheStats();
    expect(stats).toEqual(
      expect.objectContaining({ store, connected: true, errors: 0, bypassed: 0 }),
    );
    // Field for field as API.md §3 lists them.
    expect(Object.keys(stats).sort()).toEqual(
      ['bypassed', 'connected', 'errors', 'hitRatio', 'hits', 'misses', 'store'].sort(),
    );
  });

  it('repeated reads hit the cache', async () => {
    const ut = unique('hits');
    await api.create(configBody(ut, 1));
    const paths = [
      `${API}/usage-types/${ut}/active`,
      `${API}/usage-types/${ut}/fallback-chain`,
      `${API}/usage-types`,
      `${API}/providers/test-provider/models`,
    ];
    for (const path of paths) ok(await api.http().get(path));
    const before = await cacheStats();
    for (let round = 0; round < 3; round++) {
      for (const path of paths) ok(await api.http().get(path));
    }
    const after = await cacheStats();
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(3 * paths.length);
    expect(after.misses).toBe(before.misses);
    expect(after.hitRatio).toBeGreaterThan(0);
  });

  it('a write to one usage type keeps the cached lists of the others', async () => {
    const [mine, other] = [unique('list-mine'), unique('list-other')];
    await api.create(configBody(mine, 1));
    const kept = await api.create(configBody(other, 1));
    const lists = [
      `${API}/model-configs?usageType=${other}`,
      `${API}/model-configs?usageType=${other}&enabled=true&limit=10`,
    ];
    for (const path of lists) ok(await api.http().get(path));
    const before = await cacheStats();
    const [config] = await api.ofUsageType(mine);
    await api.patch(config.id, { modelName: 'Renamed elsewhere', enabled: false });
    for (const path of lists) {
      expect(ok<{ items: ModelConfig[] }>(await api.http().get(path)).items).toEqual([kept]);
    }
    const after = await cacheStats();
    // `ofUsageType` and the PATCH's own read of the config are the only loads.
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(lists.length);
    expect(after.misses - before.misses).toBeLessThanOrEqual(2);
    // The unfiltered list spans usage types: it shows the write at once.
    const all = await api.list('limit=1000');
    const changed = all.items.find((item) => item.id === config.id);
    expect(changed).toEqual(expect.objectContaining({ modelName: 'Renamed elsewhere' }));
  });

  if (store === 'redis') {
    it('reads populate Redis under the app namespace', async () => {
      const client = redisClient as RedisClientType;
      const ut = unique('keys');
      const created = await api.create(configBody(ut, 1));
      ok(await api.http().get(`${API}/usage-types/${ut}/active`));
      ok(await api.http().get(`${API}/model-configs/${created.id}`));
      const keys = await client.keys('*');
      for (const key of keys) expect(key.startsWith(`${NAMESPACE}::`)).toBe(true);
      expect(keys).toEqual(
        expect.arrayContaining([
          `${NAMESPACE}::epoch`,
          `${NAMESPACE}::t:configs:${ut}`,
          `${NAMESPACE}::entry:active:${JSON.stringify([ut])}`,
          `${NAMESPACE}::entry:id:${JSON.stringify([created.id])}`,
        ]),
      );
      const entry = await client.get(`${NAMESPACE}::entry:id:${JSON.stringify([created.id])}`);
      expect(entry).toContain(created.id);
      const before = await cacheStats();
      const redisReads = await mgetCalls(client);
      const kept = testApp.app.get(ResponseCache).stats().hits;
      ok(await api.http().get(`${API}/model-configs/${created.id}`));
      expect((await cacheStats()).hits).toBe(before.hits + 1);
      if (keptResponses) {
        // Answered with the kept response, after one MGET of the epoch and tag tokens (not of the
        // entry: its value is not read again).
        expect(testApp.app.get(ResponseCache).stats().hits).toBe(kept + 1);
        expect(await mgetCalls(client)).toBe(redisReads + 1);
      } else {
        // The hit of the next read comes from Redis: one MGET of the entry, epoch and tag tokens.
        expect(testApp.app.get(ResponseCache).stats().hits).toBe(kept);
        expect(await mgetCalls(client)).toBe(redisReads + 1);
      }
    });
  }

  it('a write to one provider keeps the cached provider pages of the others', async () => {
    const ut = unique('prov-pages');
    const [mine, other, third] = [unique('prov-mine'), unique('prov-other'), unique('prov-third')];
    let moved = await api.create(configBody(ut, 1, { provider: mine, modelId: 'm-1' }));
    const kept = await api.create(configBody(ut, 2, { provider: other, modelId: 'm-2' }));
    const page = (provider: string, query = '') =>
      `${API}/model-configs?provider=${provider}${query}`;
    const items = async (path: string) =>
      ok<{ items: ModelConfig[] }>(await api.http().get(path)).items;
    const otherPages = [page(other), page(other, '&enabled=true&limit=10')];
    for (const path of [...otherPages, page(mine), page(third)]) await items(path);

    // Same usage type, other provider: the other provider's pages stay cached.
    const before = await cacheStats();
    moved = await api.patch(moved.id, { modelName: 'Renamed, same provider', enabled: false });
    for (const path of otherPages) expect(await items(path)).toEqual([kept]);
    const after = await cacheStats();
    // At most the PATCH's own read of the config is a load.
    expect(after.misses - before.misses).toBeLessThanOrEqual(1);
    expect(await items(page(mine))).toEqual([moved]);
    expect(await items(page(mine, '&enabled=true'))).toEqual([]);

    // A move to another provider shows on both providers' pages at once.
    moved = await api.patch(moved.id, { provider: third, enabled: true });
    expect(await items(page(mine))).toEqual([]);
    expect(await items(page(third))).toEqual([moved]);
    expect(await items(page(third, '&enabled=true'))).toEqual([moved]);

    // A chain replace: the providers of its old configs and of its new ones.
    const history = `${API}/usage-types/${ut}/history`;
    const at = ok<{ items: { changedAt: string }[] }>(await api.http().get(history)).items[0]
      .changedAt;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const replaced = ok<{ items: ModelConfig[] }>(
      await api
        .http()
        .put(`${API}/usage-types/${ut}/chain`)
        .send({ items: [{ modelId: 'm-new', modelName: 'New', provider: mine }] }),
    ).items;
    expect(await items(page(other))).toEqual([]);
    expect(await items(page(third))).toEqual([]);
    expect(await items(page(mine))).toEqual(replaced);

    // A restore to before that replace: the providers it brings back and the one it removes.
    const restored = ok<{ items: ModelConfig[] }>(
      await api
        .http()
        .post(`${API}/usage-types/${ut}/restore?at=${encodeURIComponent(at)}`)
        .set(api.writeHeaders),
    ).items;
    const [movedBack, keptBack] = restored;
    expect([movedBack.provider, keptBack.provider]).toEqual([third, other]);
    expect(await items(page(third))).toEqual([movedBack]);
    expect(await items(page(other))).toEqual([keptBack]);
    expect(await items(page(mine))).toEqual([]);
  });

  describe('read after write on every cached path', () => {
    it('POST /model-configs', async () => {
      const ut = unique('create');
      const provider = unique('prov');
      const first = await api.create(configBody(ut, 2, { provider, modelId: 'm-2' }));
      await reflects(ut, provider, [first]);
      const second = await api.create(configBody(ut, 1, { provider, modelId: 'm-1' }));
      await reflects(ut, provider, [first, second]);
    });

    it('PATCH /model-configs/:id (name, model, enabled, provider, slot)', async () => {
      const ut = unique('patch');
      const provider = unique('prov');
      const otherProvider = unique('prov');
      let p1 = await api.create(configBody(ut, 1, { provider, modelId: 'm-1' }));
      let p2 = await api.create(configBody(ut, 2, { provider, modelId: 'm-2' }));
      await reflects(ut, provider, [p1, p2]);

      p1 = await api.patch(p1.id, { modelName: 'Renamed' });
      await reflects(ut, provider, [p1, p2]);
      p1 = await api.patch(p1.id, { modelId: 'm-1b' });
      await reflects(ut, provider, [p1, p2]);
      p1 = await api.patch(p1.id, { enabled: false });
      await reflects(ut, provider, [p1, p2]);
      p2 = await api.patch(p2.id, { provider: otherProvider });
      await reflects(ut, provider, [p1, p2]);
      await reflects(ut, otherProvider, [p1, p2]);
      p1 = await api.patch(p1.id, { enabled: true, priority: 3 });
      await reflects(ut, provider, [p1, p2]);

      // Moving a config to another usage type (and provider) changes both.
      const other = unique('patch-to');
      const third = unique('prov');
      await reflects(other, third, []);
      p2 = await api.patch(p2.id, { usageType: other, provider: third });
      await reflects(ut, provider, [p1]);
      await reflects(ut, otherProvider, [p1]);
      await reflects(other, third, [p2]);
    });

    it('DELETE /model-configs/:id', async () => {
      const ut = unique('delete');
      const provider = unique('prov');
      const [p1, p2] = [
        await api.create(configBody(ut, 1, { provider, modelId: 'm-1' })),
        await api.create(configBody(ut, 2, { provider, modelId: 'm-2' })),
      ];
      await reflects(ut, provider, [p1, p2]);
      expect((await api.http().delete(`${API}/model-configs/${p1.id}`)).status).toBe(204);
      await reflects(ut, provider, [p2], [p1.id]);
      expect((await api.http().delete(`${API}/model-configs/${p2.id}`)).status).toBe(204);
      await reflects(ut, provider, [], [p1.id, p2.id]);
    });

    it('PUT and DELETE /model-configs/by-slot/:usageType/:priority', async () => {
      const ut = unique('slot');
      const provider = unique('prov');
      await reflects(ut, provider, []);
      const put = (priority: number, body: Record<string, unknown>) =>
        api.http().put(`${API}/model-configs/by-slot/${ut}/${priority}`).send(body);
      const created = ok<ModelConfig>(
        await put(1, { modelId: 'm-a', modelName: 'A', provider }),
        201,
      );
      await reflects(ut, provider, [created]);
      const replaced = ok<ModelConfig>(
        await put(1, { modelId: 'm-b', modelName: 'B', provider, parameters: { t: 1 } }),
        200,
      );
      expect(replaced.id).toBe(created.id);
      await reflects(ut, provider, [replaced]);
      const disabled = ok<ModelConfig>(
        await put(1, { modelId: 'm-b', modelName: 'B', provider, enabled: false }),
        200,
      );
      await reflects(ut, provider, [disabled]);
      expect((await api.http().delete(`${API}/model-configs/by-slot/${ut}/1`)).status).toBe(204);
      await reflects(ut, provider, [], [created.id]);
    });

    it('PUT /usage-types/:usageType/chain', async () => {
      const ut = unique('chain');
      const provider = unique('prov');
      const old = [
        await api.create(configBody(ut, 1, { provider, modelId: 'old-1' })),
        await api.create(configBody(ut, 2, { provider, modelId: 'old-2' })),
      ];
      await reflects(ut, provider, old);
      const replace = async (modelIds: string[], enabled = true): Promise<ModelConfig[]> => {
        const body = ok<{ usageType: string; items: ModelConfig[] }>(
          await api
            .http()
            .put(`${API}/usage-types/${ut}/chain`)
            .send({
              items: modelIds.map((modelId) => ({
                modelId,
                modelName: `Name ${modelId}`,
                provider,
                enabled,
              })),
            }),
        );
        return body.items;
      };
      const first = await replace(['new-a', 'new-b', 'new-c']);
      await reflects(
        ut,
        provider,
        first,
        old.map((c) => c.id),
      );
      const second = await replace(['only']);
      await reflects(
        ut,
        provider,
        second,
        first.map((c) => c.id),
      );
      const disabled = await replace(['off'], false);
      await reflects(
        ut,
        provider,
        disabled,
        second.map((c) => c.id),
      );
    });

    it('POST /model-configs/bulk', async () => {
      const ut = unique('bulk');
      const provider = unique('prov');
      const existing = await api.create(configBody(ut, 5, { provider, modelId: 'm-5' }));
      await reflects(ut, provider, [existing]);
      const body = ok<{ created: number; items: ModelConfig[] }>(
        await api
          .http()
          .post(`${API}/model-configs/bulk`)
          .send({
            items: [1, 2, 3].map((p) => configBody(ut, p, { provider, modelId: `m-${p}` })),
          }),
        201,
      );
      expect(body.created).toBe(3);
      await reflects(ut, provider, [existing, ...body.items]);
    });

    // Last: it replaces every config.
    it('POST /model-configs/reset', async () => {
      const ut = unique('reset');
      const provider = unique('prov');
      const mine = await api.create(configBody(ut, 1, { provider, modelId: 'm-1' }));
      await reflects(ut, provider, [mine]);
      // A default usage type, changed and read (so cached) before the reset.
      const [deep] = await api.ofUsageType('chat_deep');
      const changed = await api.patch(deep.id, { modelName: 'Changed before reset' });
      await reflects('chat_deep', 'openrouter', [changed]);

      const res = await api.http().post(`${API}/model-configs/reset`);
      expect(ok<{ deleted: number; inserted: number }>(res).inserted).toBe(9);

      await reflects(ut, provider, [], [mine.id, changed.id]);
      const [fresh] = await api.ofUsageType('chat_deep');
      expect(fresh.modelName).toBe('OpenRouter Auto');
      const active = ok<ModelConfig>(await api.http().get(`${API}/usage-types/chat_deep/active`));
      expect(active).toEqual(fresh);
      const grouped = await api.grouped();
      expect(Object.keys(grouped)).toHaveLength(9);
      expect(grouped.chat_deep).toEqual([fresh]);
      const summaries = await api.summaries();
      expect(summaries).toHaveLength(9);
    });
  });
});

/** How many MGET commands the Redis server has run (`INFO commandstats`). */
async function mgetCalls(client: RedisClientType): Promise<number> {
  const info = await client.info('commandstats');
  const match = /cmdstat_mget:calls=(\d+)/.exec(info);
  return match ? Number(match[1]) : 0;
}
