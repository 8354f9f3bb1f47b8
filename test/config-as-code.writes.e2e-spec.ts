import { DuckDbPool } from '@lib/duckdb';
import { ApiClient } from './support/api';
import { type ConfigDoc, ConfigClient, item, withUsageType } from './support/config-as-code';
import { API, configBody, expectErrorBody, unique } from './support/http';
import { type TestApp, startTestApp } from './support/test-app';

const KEY = 'config-as-code-key';
const AUTH = { Authorization: `Bearer ${KEY}` };

interface HistoryRow {
  changeSet: string;
  usageType: string;
  priority: number;
  version: number;
  operation: string;
  action: string;
  actor: string | null;
}

describe('configuration as code: atomic, concurrent and authenticated imports', () => {
  let app: TestApp;
  let api: ApiClient;
  let config: ConfigClient;

  beforeAll(async () => {
    app = await startTestApp({ API_KEY: KEY });
    api = new ApiClient(app.url, AUTH);
    config = new ConfigClient(app.url, AUTH);
  });

  /** The history rows of a usage type (API.md §2, History), newest first. */
  const history = async (usageType: string) =>
    (
      JSON.parse(
        (await api.http().get(`${API}/usage-types/${usageType}/history?limit=500`)).text,
      ) as { items: HistoryRow[] }
    ).items;

  afterAll(async () => {
    app?.app.get(DuckDbPool).setFaultInjector(undefined);
    await app?.close();
  });

  describe('POST /config/import', () => {
    it.each([
      [
        'a CHECK violation (a bug: 500)',
        'Constraint Error: CHECK constraint failed: model_configs',
        500,
        'INTERNAL_ERROR',
      ],
      [
        'a unique violation, again on every rerun (409 after the reruns)',
        'Constraint Error: Duplicate key "usage_type: x" violates unique constraint',
        409,
        'TRANSACTION_CONFLICT',
      ],
    ])(
      'stores nothing when applying fails half-way: %s',
      async (_label, driverMessage, status, code) => {
        const ut = unique('halfway');
        const [existing] = await api.createMany([configBody(ut, 1), configBody(ut, 9)]);
        const before = await config.exportText();
        const doc = withUsageType(JSON.parse(before) as ConfigDoc, ut, [
          item(1, { provider: 'test-provider', modelName: 'Updated first' }),
          item(2),
          item(3),
          item(4),
        ]);
        // The document is valid (a dry run plans it). Applying it, an INSERT fails in the
        // database after an UPDATE, a DELETE (prune) and an INSERT of the same transaction ran.
        const plan = await config.importDoc(doc, { dryRun: true, prune: true });
        expect(plan.summary).toMatchObject({ create: 3, update: 1, delete: 1 });
        let inserts = 0;
        app.app.get(DuckDbPool).setFaultInjector((sql) => {
          if (!/^\s*INSERT INTO model_configs\s*\(/i.test(sql) || ++inserts < 2) return undefined;
          return new Error(driverMessage);
        });
        try {
          const res = await config.importRaw(JSON.stringify(doc), 'application/json', 'prune=true');
          expectErrorBody(status, code, res);
        } finally {
          app.app.get(DuckDbPool).setFaultInjector(undefined);
        }
        expect(inserts).toBeGreaterThanOrEqual(2);
        expect(await config.exportText()).toBe(before);
        expect((await history(ut)).map((row) => row.operation)).toEqual(['create', 'create']);
        expect(await api.get(existing.id)).toEqual(existing);
        // The same document applies whole once the fault is gone.
        expect((await config.importDoc(doc, { prune: true })).summary).toEqual(plan.summary);
        expect(await config.exportDoc()).toEqual(doc);
      },
    );

    it('records an applied import in the history as one change set (operation import)', async () => {
      const [a, b] = [unique('hist'), unique('hist')];
      await api.createMany([configBody(a, 1), configBody(a, 2)]);
      const doc = withUsageType(
        withUsageType(await config.exportDoc(), a, [
          item(1, { provider: 'test-provider', modelName: 'New' }),
        ]),
        b,
        [item(1)],
      );
      await config.importDoc(doc, { dryRun: true, prune: true });
      await config.importDoc(doc, { prune: true });
      const rows = [...(await history(a)), ...(await history(b))].filter(
        (row) => row.operation === 'import',
      );
      expect(rows.map((row) => `${row.action} ${row.usageType}/${row.priority}`).sort()).toEqual(
        [`create ${b}/1`, `delete ${a}/2`, `update ${a}/1`].sort(),
      );
      expect(new Set(rows.map((row) => row.changeSet)).size).toBe(1);
      expect(rows.every((row) => row.actor === 'default')).toBe(true);
      // One event in the change stream for the whole import.
      const log = JSON.parse(
        (await api.http().get(`${API}/events/log?since=0&limit=1000`)).text,
      ) as { events: { operation: string; usageTypes: string[] }[] };
      const events = log.events.filter((event) => event.usageTypes.includes(b));
      expect(events.map((event) => event.operation)).toEqual(['import']);
      expect(events[0].usageTypes).toEqual(expect.arrayContaining([a, b]));
    });

    it('leaves the document applied once when concurrent imports create the same slots', async () => {
      const ut = unique('race');
      const doc = withUsageType(await config.exportDoc(), ut, [item(1), item(2)]);
      const responses = await Promise.all(
        Array.from({ length: 6 }, () => config.importRaw(JSON.stringify(doc), 'application/json')),
      );
      for (const res of responses) {
        if (res.status !== 200) expectErrorBody(409, 'TRANSACTION_CONFLICT', res);
      }
      expect(responses.some((res) => res.status === 200)).toBe(true);
      expect(await config.exportDoc()).toEqual(doc);
      expect((await api.ofUsageType(ut)).map((c) => c.version)).toEqual([1, 1]);
    });

    it('takes YAML as application/yaml, text/yaml, application/x-yaml (with a charset)', async () => {
      const yaml = await config.exportText('yaml');
      for (const type of [
        'application/yaml',
        'text/yaml',
        'application/x-yaml',
        'application/yaml; charset=utf-8',
      ]) {
        const res = await config.importRaw(yaml, type, 'dryRun=true');
        expect(`${type}: ${res.status}`).toBe(`${type}: 200`);
      }
      // Other routes still take JSON only.
      const other = await config.importRaw(yaml, 'application/yaml');
      expect(other.status).toBe(200);
      const res = await api
        .http()
        .post(`${API}/model-configs`)
        .set(AUTH)
        .set('Content-Type', 'application/yaml')
        .send('usageType: x\npriority: 1\n');
      expectErrorBody(415, 'UNSUPPORTED_MEDIA_TYPE', res);
      const text = await config.importRaw('a,b', 'text/csv');
      expectErrorBody(415, 'UNSUPPORTED_MEDIA_TYPE', text);
    });

    it('needs the API key (401 without, dry run included) and writes nothing', async () => {
      const before = await config.exportText();
      const doc = withUsageType(JSON.parse(before) as ConfigDoc, unique('auth'), [item(1)]);
      const anonymous = new ConfigClient(app.url);
      for (const query of ['', 'dryRun=true', 'prune=true']) {
        const res = await anonymous.importRaw(JSON.stringify(doc), 'application/json', query);
        expectErrorBody(401, 'UNAUTHORIZED', res);
      }
      const wrong = await config.importRaw(JSON.stringify(doc), 'application/json', '', {
        'X-API-Key': 'wrong-key-123456',
      });
      expectErrorBody(401, 'UNAUTHORIZED', wrong);
      expect(await config.exportText()).toBe(before);
    });

    it('is documented in the OpenAPI document, the import as a write', async () => {
      const res = await api.http().get('/docs-json');
      const doc = JSON.parse(res.text) as { paths: Record<string, Record<string, unknown>> };
      expect(doc.paths[`${API}/config/export`]).toHaveProperty('get');
      const post = doc.paths[`${API}/config/import`]?.post;
      expect(JSON.stringify(post)).toMatch(/security/);
      expect(JSON.stringify(post)).toMatch(/application\/yaml/);
    });
  });
});
