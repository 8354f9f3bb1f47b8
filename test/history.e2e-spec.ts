import { DuckDbClient } from '@lib/duckdb';
import { HistoryPruner } from '../apps/api/src/history/history.pruner';
import type { HistoryEntry } from '../apps/api/src/history/history.types';
import { ApiClient } from './support/api';
import { API, type ModelConfig, configBody, expectError, ok, unique } from './support/http';
import { type TestApp, startTestApp } from './support/test-app';

jest.setTimeout(30_000);

/** One history row (API.md §2, History). */
interface Entry {
  seq: number;
  changeSet: string;
  configId: string;
  usageType: string;
  priority: number;
  version: number;
  operation: string;
  action: 'create' | 'update' | 'delete';
  before: ModelConfig | null;
  after: ModelConfig | null;
  actor: string | null;
  requestId: string | null;
  changedAt: string;
}
interface Page {
  items: Entry[];
  nextCursor: string | null;
}

const OPS_KEY = 'ops-key-0123456789';
const CI_KEY = 'ci-key-0123456789';

describe('change history, audit and restore (real HTTP, real DuckDB file)', () => {
  let testApp: TestApp;
  let api: ApiClient;
  let ci: ApiClient;

  const historyOf = async (usageType: string, query = ''): Promise<Page> =>
    ok<Page>(await api.http().get(`${API}/usage-types/${usageType}/history${query}`));
  const configHistory = async (id: string): Promise<Entry[]> =>
    ok<Page>(await api.http().get(`${API}/model-configs/${id}/history?limit=500`)).items;
  const rowCount = async (): Promise<number> => {
    const row = await testApp.app
      .get(DuckDbClient)
      .queryOne<{ n: number }>('SELECT count(*) AS n FROM model_config_history');
    return Number(row?.n);
  };

  beforeAll(async () => {
    testApp = await startTestApp({
      API_KEY: OPS_KEY,
      API_KEYS: `ci-pipeline:${CI_KEY}`,
      HISTORY_RETENTION_DAYS: '30',
    });
    api = new ApiClient(testApp.url, { 'x-api-key': OPS_KEY });
    ci = new ApiClient(testApp.url, { authorization: `Bearer ${CI_KEY}` });
  });
  afterAll(() => testApp?.close());

  it('records every kind of write with its operation, actor label and request id', async () => {
    const ut = unique('hist');
    const created = await api.create(configBody(ut, 1, { modelId: 'm-1' }));
    const patch = await ci
      .http()
      .patch(`${API}/model-configs/${created.id}`)
      .set(ci.writeHeaders)
      .send({ modelName: 'Renamed' });
    const patched = ok<ModelConfig>(patch);
    const slot = ok<ModelConfig>(
      await api
        .http()
        .put(`${API}/model-configs/by-slot/${ut}/2`)
        .set(api.writeHeaders)
        .send({ modelId: 'm-2', modelName: 'Two', provider: 'p' }),
      201,
    );
    ok(
      await api
        .http()
        .post(`${API}/model-configs/bulk`)
        .set(api.writeHeaders)
        .send({ items: [configBody(ut, 3, { modelId: 'm-3' })] }),
      201,
    );
    const del = await api
      .http()
      .delete(`${API}/model-configs/by-slot/${ut}/2`)
      .set(api.writeHeaders);
    expect(del.status).toBe(204);

    const { items } = await historyOf(ut);
    expect(items.map((e) => [e.operation, e.action, e.priority])).toEqual([
      ['delete', 'delete', 2],
      ['bulk', 'create', 3],
      ['upsert', 'create', 2],
      ['update', 'update', 1],
      ['create', 'create', 1],
    ]);
    const seqs = items.map((e) => e.seq);
    expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);
    const update = items[3];
    expect(update).toMatchObject({
      configId: created.id,
      version: 2,
      actor: 'ci-pipeline',
      requestId: patch.headers['x-request-id'],
      before: created,
      after: patched,
    });
    expect(items[4]).toMatchObject({ actor: 'default', before: null, after: created });
    expect(items[0]).toMatchObject({ configId: slot.id, before: slot, after: null });
    // The key itself is never stored.
    const text = JSON.stringify(items);
    expect(text).not.toContain(OPS_KEY);
    expect(text).not.toContain(CI_KEY);
  });

  it('one change and a change set of many store the same text, verbatim', async () => {
    const ut = unique('hist-text');
    const parameters = {
      constructor: 'toString',
      toString: { valueOf: ['hasOwnProperty'] },
      quote: 'it\'s "quoted" \\ back',
      unicode: '✓ 日本語 \u0000 \n',
      sql: "'); DROP TABLE model_config_history; --",
    };
    const created = await api.create(configBody(ut, 1, { modelId: 'm-1', parameters }));
    // One change: the PATCH's row.
    const patched = await api.patch(created.id, { modelName: 'O\'Brien "two"' });
    // Many changes: a bulk insert of two configs writes both rows in one statement.
    const bulk = ok<{ items: ModelConfig[] }>(
      await api
        .http()
        .post(`${API}/model-configs/bulk`)
        .set(api.writeHeaders)
        .send({ items: [2, 3].map((p) => configBody(ut, p, { modelId: `m-${p}`, parameters })) }),
      201,
    ).items;
    const { items } = await historyOf(ut);
    const byConfig = (id: string) => items.filter((e) => e.configId === id);
    expect(byConfig(created.id).map((e) => [e.action, e.before, e.after])).toEqual([
      ['update', created, patched],
      ['create', null, created],
    ]);
    for (const config of bulk) {
      expect(byConfig(config.id).map((e) => [e.action, e.before, e.after])).toEqual([
        ['create', null, config],
      ]);
    }
    expect(patched.parameters).toEqual(parameters);
  });

  it('a chain replace is one change set; seed and reset are recorded', async () => {
    const ut = unique('hist-chain');
    const old = await api.create(configBody(ut, 1, { modelId: 'old' }));
    // A second old config, changed since (version 2, its own updatedAt), with awkward parameters.
    const parameters = {
      constructor: 'toString',
      __proto__x: { hasOwnProperty: [1, 2.5, -3e-7, null, true] },
      text: 'é 😀 \u2028 "quoted" \\ back',
      big: 12345678901234,
    };
    const second = await api.create(configBody(ut, 2, { modelId: 'old-2', provider: 'other-p' }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const changedOld = await api.patch(second.id, { parameters, enabled: false });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const res = await api
      .http()
      .put(`${API}/usage-types/${ut}/chain`)
      .set(api.writeHeaders)
      .send({ items: ['a', 'b'].map((m) => ({ modelId: m, modelName: m, provider: 'p' })) });
    const chain = ok<{ items: ModelConfig[] }>(res).items;
    const { items } = await historyOf(ut);
    const changes = items.filter((e) => e.operation === 'chain').reverse();
    expect(changes).toHaveLength(4);
    expect(new Set(changes.map((e) => e.changeSet)).size).toBe(1);
    // Oldest first: the deletes by priority, then the creates by priority.
    expect(changes.map((e) => [e.action, e.configId, e.priority, e.version])).toEqual([
      ['delete', old.id, 1, 1],
      ['delete', changedOld.id, 2, 2],
      ['create', chain[0].id, 1, 1],
      ['create', chain[1].id, 2, 1],
    ]);
    // A delete keeps the config exactly as it was served, and nothing after.
    expect(changes[0]).toMatchObject({ usageType: ut, before: old, after: null });
    expect(changes[1]).toMatchObject({ usageType: ut, before: changedOld, after: null });
    expect(changedOld.updatedAt).not.toBe(changedOld.createdAt);
    expect(changes[2]).toMatchObject({ before: null, after: chain[0] });
    // Recorded at the time the configs carry: a restore `at` their createdAt includes them.
    for (const change of changes) expect(change.changedAt).toBe(chain[0].createdAt);

    // Reset: every config deleted and the defaults created, one change set.
    ok(await api.http().post(`${API}/model-configs/reset`).set(api.writeHeaders));
    const deep = await historyOf('chat_deep');
    expect(deep.items[0]).toMatchObject({ operation: 'reset', action: 'create', actor: 'default' });
    const gone = (await historyOf(ut)).items[0];
    expect(gone).toMatchObject({
      operation: 'reset',
      action: 'delete',
      changeSet: deep.items[0].changeSet,
    });
    // Seed fills a freed default slot, and records only that.
    const [config] = await api.ofUsageType('chat_deep');
    expect(
      (await api.http().delete(`${API}/model-configs/${config.id}`).set(api.writeHeaders)).status,
    ).toBe(204);
    expect(
      ok<{ inserted: number }>(
        await api.http().post(`${API}/model-configs/seed`).set(api.writeHeaders),
      ),
    ).toEqual({ inserted: 1 });
    const seeded = (await historyOf('chat_deep')).items;
    // Newest first: this seed, the delete, the reset; before them, the seed at startup.
    expect(seeded.map((e) => [e.operation, e.action])).toEqual([
      ['seed', 'create'],
      ['delete', 'delete'],
      ['reset', 'create'],
      ['reset', 'delete'],
      ['seed', 'create'],
    ]);
    expect(seeded[0].actor).toBe('default');
    expect(seeded[4].actor).toBe('system');
  });

  it('a failed or refused change leaves no history', async () => {
    const ut = unique('hist-fail');
    const config = await api.create(configBody(ut, 1));
    const before = await rowCount();
    // A stale If-Match, a taken slot in a bulk (all or nothing), a chain with a duplicate model.
    expectError(
      await api
        .http()
        .patch(`${API}/model-configs/${config.id}`)
        .set({ ...api.writeHeaders, 'if-match': '"7"' })
        .send({ modelName: 'x' }),
      412,
      'VERSION_MISMATCH',
    );
    expectError(
      await api
        .http()
        .post(`${API}/model-configs/bulk`)
        .set(api.writeHeaders)
        .send({ items: [configBody(ut, 2), configBody(ut, 1)] }),
      409,
      'SLOT_TAKEN',
    );
    expectError(
      await api.http().patch(`${API}/model-configs/${config.id}`).send({ modelName: 'no key' }),
      401,
      'UNAUTHORIZED',
    );
    expect(await rowCount()).toBe(before);
    expect((await historyOf(ut)).items).toHaveLength(1);
  });

  it('pages newest first with a cursor; a deleted config’s history stays readable', async () => {
    const ut = unique('hist-page');
    let config = await api.create(configBody(ut, 1));
    for (let i = 0; i < 6; i++) config = await api.patch(config.id, { modelName: `v${i}` });
    expect(
      (await api.http().delete(`${API}/model-configs/${config.id}`).set(api.writeHeaders)).status,
    ).toBe(204);
    const seen: Entry[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: Page = await historyOf(ut, `?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items);
      cursor = page.nextCursor;
    }
    expect(seen.map((e) => e.action)).toEqual(['delete', ...Array(6).fill('update'), 'create']);
    expect((await configHistory(config.id)).map((e) => e.seq)).toEqual(seen.map((e) => e.seq));
    expectError(
      await api.http().get(`${API}/usage-types/${ut}/history?cursor=abc`),
      400,
      'VALIDATION_FAILED',
    );
    expectError(
      await api.http().get(`${API}/model-configs/00000000-0000-4000-8000-000000000000/history`),
      404,
      'NOT_FOUND',
    );
  });

  it('restores a config version as a new version, honouring If-Match, and revives a deleted one', async () => {
    const ut = unique('hist-restore');
    const v1 = await api.create(configBody(ut, 1, { modelId: 'first', parameters: { t: 0.1 } }));
    const v2 = await api.patch(v1.id, { modelId: 'second', parameters: { t: 0.9 } });
    const restore = (version: number, ifMatch?: string) =>
      api
        .http()
        .post(`${API}/model-configs/${v1.id}/restore/${version}`)
        .set({ ...api.writeHeaders, ...(ifMatch ? { 'if-match': ifMatch } : {}) });
    expectError(await restore(1, '"1"'), 412, 'VERSION_MISMATCH');
    expectError(await restore(9), 404, 'NOT_FOUND');
    const res = await restore(1, `"${v2.version}"`);
    const v3 = ok<ModelConfig>(res);
    expect(res.headers.etag).toBe('"3"');
    expect(v3).toMatchObject({ id: v1.id, version: 3, modelId: 'first', parameters: { t: 0.1 } });
    expect(await api.get(v1.id)).toEqual(v3);
    const [entry] = await configHistory(v1.id);
    expect(entry).toMatchObject({ operation: 'restore', action: 'update', before: v2, after: v3 });

    expect(
      (await api.http().delete(`${API}/model-configs/${v1.id}`).set(api.writeHeaders)).status,
    ).toBe(204);
    const revived = ok<ModelConfig>(await restore(2), 201);
    expect(revived).toMatchObject({ id: v1.id, version: 4, modelId: 'second' });
    expect(await api.get(v1.id)).toEqual(revived);
  });

  it('restores a whole chain as it was at a time, honouring If-Match', async () => {
    const ut = unique('hist-chain-restore');
    const replace = async (ids: string[]) =>
      ok<{ items: ModelConfig[] }>(
        await api
          .http()
          .put(`${API}/usage-types/${ut}/chain`)
          .set(api.writeHeaders)
          .send({ items: ids.map((m) => ({ modelId: m, modelName: m, provider: 'p' })) }),
      ).items;
    const then = await replace(['a', 'b', 'c']);
    const renamed = await api.patch(then[1].id, { modelName: 'B renamed' });
    const at = (await historyOf(ut)).items[0].changedAt;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await replace(['x']);
    const history = await historyOf(ut);
    const etag = history.items[0].seq;
    const restoreAt = (ifMatch?: string) =>
      api
        .http()
        .post(`${API}/usage-types/${ut}/restore?at=${encodeURIComponent(at)}`)
        .set({ ...api.writeHeaders, ...(ifMatch ? { 'if-match': ifMatch } : {}) });
    expectError(await restoreAt(`"${etag - 1}"`), 412, 'VERSION_MISMATCH');
    const headerEtag = (await api.http().get(`${API}/usage-types/${ut}/history`)).headers.etag;
    expect(headerEtag).toBe(`"${etag}"`);
    const restored = ok<{ items: ModelConfig[] }>(await restoreAt(headerEtag)).items;
    const content = (c: ModelConfig) => [c.id, c.priority, c.modelId, c.modelName];
    expect(restored.map(content)).toEqual([then[0], renamed, then[2]].map(content));
    expect(restored.every((c) => c.version > 1 || c.id === then[0].id)).toBe(true);
    expect(await api.ofUsageType(ut)).toEqual(restored);
    const latest = (await historyOf(ut)).items.filter((e) => e.operation === 'restore');
    expect(latest.map((e) => e.action).sort()).toEqual(['create', 'create', 'create', 'delete']);
    expectError(
      await api
        .http()
        .post(`${API}/usage-types/${ut}/restore?at=2000-01-01T00:00:00Z`)
        .set(api.writeHeaders),
      404,
      'NOT_FOUND',
    );
    expectError(
      await api.http().post(`${API}/usage-types/${ut}/restore?at=yesterday`).set(api.writeHeaders),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('a chain replace honours If-Match against the history ETag and answers the new one', async () => {
    const ut = unique('hist-chain-etag');
    const put = (ifMatch?: string) =>
      api
        .http()
        .put(`${API}/usage-types/${ut}/chain`)
        .set({ ...api.writeHeaders, ...(ifMatch ? { 'if-match': ifMatch } : {}) })
        .send({ items: [{ modelId: 'a', modelName: 'A', provider: 'p' }] });
    const first = await put();
    expect(first.status).toBe(200);
    const etag = (await api.http().get(`${API}/usage-types/${ut}/history`)).headers.etag;
    expect(first.headers.etag).toBe(etag);
    expectError(await put('"1"'), 412, 'VERSION_MISMATCH');
    // A write to another usage type in between does not move this chain's version.
    await api.create(configBody(unique('hist-chain-other'), 1));
    const second = await put(etag);
    expect(second.status).toBe(200);
    expect(second.headers.etag).not.toBe(etag);
    const after = await api.http().get(`${API}/usage-types/${ut}/history`);
    expect(second.headers.etag).toBe(after.headers.etag);
    // One change set: the old config's delete, then the new one's create.
    const [newest, previous] = (after.body as { items: HistoryEntry[] }).items;
    expect([previous.action, newest.action]).toEqual(['delete', 'create']);
    expect(newest.changeSet).toBe(previous.changeSet);
    expect(newest.operation).toBe('chain');
    expectError(await put(etag), 412, 'VERSION_MISMATCH');
  });

  it('retention prunes old rows but never the newest of a live config', async () => {
    const ut = unique('hist-retention');
    let config = await api.create(configBody(ut, 1));
    config = await api.patch(config.id, { modelName: 'latest' });
    const gone = await api.create(configBody(ut, 2));
    expect(
      (await api.http().delete(`${API}/model-configs/${gone.id}`).set(api.writeHeaders)).status,
    ).toBe(204);
    // 31 days from now, everything written so far is older than the 30-day retention.
    const pruned = await testApp.app.get(HistoryPruner).prune(Date.now() + 31 * 86_400_000);
    expect(pruned).toBeGreaterThan(0);
    const left = (await historyOf(ut)).items;
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ configId: config.id, version: 2, after: config });
  });
});

describe('usage-type history of configs moved out, across migration 0004', () => {
  it('still lists a move out of a usage type after the upgrade backfills from_usage_type', async () => {
    const first = await startTestApp({ API_KEY: OPS_KEY });
    let again: TestApp | undefined;
    try {
      const api = new ApiClient(first.url, { 'x-api-key': OPS_KEY });
      const from = unique('hist-move-from');
      const to = unique('hist-move-to');
      const config = await api.create(configBody(from, 1));
      await api.patch(config.id, { usageType: to });
      const before = await api.http().get(`${API}/usage-types/${from}/history`);
      const items = (before.body as { items: HistoryEntry[] }).items;
      expect(items.map((e) => [e.action, e.usageType])).toEqual([
        ['update', to],
        ['create', from],
      ]);
      expect(before.headers.etag).toBe(`"${items[0].seq}"`);
      // As if this database were written before migration 0004 (its table has no such column).
      const db = first.app.get(DuckDbClient);
      await db.execute(
        'CREATE TABLE old_history AS SELECT * EXCLUDE (from_usage_type) FROM model_config_history',
      );
      await db.execute('DROP TABLE model_config_history');
      await db.execute('ALTER TABLE old_history RENAME TO model_config_history');
      await db.execute('DELETE FROM schema_migrations WHERE name = $1', [
        '0004_add_history_from_usage_type.sql',
      ]);
      await first.app.close();
      again = await startTestApp({ DUCKDB_PATH: first.dbPath, API_KEY: OPS_KEY });
      const after = await new ApiClient(again.url).http().get(`${API}/usage-types/${from}/history`);
      expect(after.body).toEqual(before.body);
      expect(after.headers.etag).toBe(before.headers.etag);
    } finally {
      await again?.close();
      await first.close();
    }
  });
});
