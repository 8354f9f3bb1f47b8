/**
 * `GET /model-configs/grouped`, including read-after-write on it.
 *
 * These tests run the app in a child process. DuckDB 1.5.6 plans a prepared statement from the
 * table statistics seen when it was prepared; reused after longer strings were written, the cached
 * full-table `ORDER BY` behind this endpoint returned corrupted strings or crashed the process with
 * SIGSEGV (worked around in `libs/duckdb/src/duckdb.database.ts` by disabling the optimizers that
 * plan from statistics). In-process, such a crash would end the whole Jest run; here it fails these
 * tests with the process's exit signal.
 */
import { ApiClient, expectReadsReflect } from './support/api';
import { type ChildApp, startChildApp } from './support/child-app';
import { API, type ModelConfig, configBody, expectError, ok, unique } from './support/http';

const MODES: [string, Record<string, string>][] = [
  ['pool', {}],
  ['single', { DUCKDB_POOL_ENABLED: 'false' }],
];

const DEFAULT_USAGE_TYPES = [
  'chat_deep',
  'chat_graph',
  'chat_semantic',
  'chat_text',
  'chat_title',
  'embedding',
  'general_available_models',
  'inference',
  'kg_edge_creation',
];

describe.each(MODES)('GET /model-configs/grouped (%s mode)', (_mode, modeEnv) => {
  let child: ChildApp | undefined;
  let api: ApiClient;

  /** A running child app: a fresh one when the previous one died (so each test stands alone). */
  async function running(): Promise<ApiClient> {
    if (child && child.exit() === undefined) return api;
    await child?.close();
    child = await startChildApp(modeEnv);
    api = new ApiClient(child.url);
    return api;
  }

  /** Runs `fn`; if the server process died meanwhile, says so (with its signal) instead. */
  async function whileAlive(fn: (api: ApiClient) => Promise<void>): Promise<void> {
    const client = await running();
    try {
      await fn(client);
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const exit = child?.exit();
      if (exit) {
        throw new Error(
          `The server process died during the test (exit ${JSON.stringify(exit)}); ` +
            `first error: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      throw error;
    }
  }

  afterAll(async () => {
    await child?.close();
  });

  it('lists the nine seeded defaults, one per usage type', async () => {
    await whileAlive(async (client) => {
      const grouped = await client.grouped();
      for (const usageType of DEFAULT_USAGE_TYPES) {
        expect(grouped[usageType]).toEqual([
          expect.objectContaining({ usageType, priority: 1, enabled: true, version: 1 }),
        ]);
      }
    });
  }, 90_000);

  it('groups by usage type, each list by priority, disabled configs included', async () => {
    await whileAlive(async (client) => {
      const ut = unique();
      const [p3, p1, p2] = await client.createMany([
        configBody(ut, 3),
        configBody(ut, 1, { enabled: false }),
        configBody(ut, 2),
      ]);
      const grouped = await client.grouped();
      expect(grouped[ut]).toEqual([p1, p2, p3]);
      for (const [usageType, configs] of Object.entries(grouped)) {
        const priorities = configs.map((c) => c.priority);
        expect(priorities).toEqual([...priorities].sort((a, b) => a - b));
        expect(configs.every((c) => c.usageType === usageType)).toBe(true);
      }
    });
  }, 90_000);

  it('reflects a create whose provider is longer than every provider read before', async () => {
    await whileAlive(async (client) => {
      await client.grouped();
      const ut = unique();
      const created = await client.create(configBody(ut, 1, { provider: 'azure-openai-eastus2' }));
      expect((await client.grouped())[ut]).toEqual([created]);
    });
  }, 90_000);

  it('reflects a create with parameters after an earlier read', async () => {
    await whileAlive(async (client) => {
      await client.grouped();
      const ut = unique();
      const created = await client.create(
        configBody(ut, 1, { parameters: { temperature: 0.2, max_tokens: 1024 } }),
      );
      expect((await client.grouped())[ut]).toEqual([created]);
    });
  }, 90_000);

  it('reflects every kind of write as soon as it is answered', async () => {
    await whileAlive(async (client) => {
      const ut = unique('grw');
      const provider = unique('grwp');
      const http = client.http();
      const reads = (expected: ModelConfig[], gone: string[] = []): Promise<void> =>
        expectReadsReflect(client, ut, provider, expected, gone, { grouped: true });
      await reads([]);
      const a = await client.create(configBody(ut, 2, { provider, modelId: 'model-a' }));
      await reads([a]);
      const aPatched = await client.patch(a.id, { enabled: false, parameters: { top_p: 0.9 } });
      await reads([aPatched]);
      const b = ok<ModelConfig>(
        await http
          .put(`${API}/model-configs/by-slot/${ut}/1`)
          .send({ modelId: 'model-b', modelName: 'B', provider }),
        201,
      );
      await reads([aPatched, b]);
      const bulk = ok<{ items: ModelConfig[] }>(
        await http
          .post(`${API}/model-configs/bulk`)
          .send({ items: [configBody(ut, 3, { provider, modelId: 'model-c' })] }),
        201,
      );
      await reads([aPatched, b, ...bulk.items]);
      ok(await http.delete(`${API}/model-configs/${b.id}`), 204);
      await reads([aPatched, ...bulk.items], [b.id]);
      const chain = ok<{ items: ModelConfig[] }>(
        await http
          .put(`${API}/usage-types/${ut}/chain`)
          .send({ items: [{ modelId: 'model-d', modelName: 'D', provider }] }),
      );
      await reads(chain.items, [a.id, bulk.items[0].id]);
      ok(await http.delete(`${API}/model-configs/by-slot/${ut}/1`), 204);
      await reads([], [chain.items[0].id]);
      const reset = ok<{ deleted: number; inserted: number }>(
        await http.post(`${API}/model-configs/reset`),
      );
      expect(reset.inserted).toBe(9);
      expect(Object.keys(await client.grouped()).sort()).toEqual(DEFAULT_USAGE_TYPES);
      expectError(await http.get(`${API}/usage-types/${ut}/fallback-chain`), 404, 'NOT_FOUND');
    });
  }, 90_000);
});
