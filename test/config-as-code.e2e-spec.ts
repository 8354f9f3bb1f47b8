import { parse } from 'yaml';
import { ApiClient } from './support/api';
import { type ConfigDoc, ConfigClient, item, withUsageType } from './support/config-as-code';
import { API, configBody, expectErrorBody, unique } from './support/http';
import { type TestApp, startTestApp } from './support/test-app';

const KEY = 'config-as-code-key';
const AUTH = { Authorization: `Bearer ${KEY}` };

describe('configuration as code: export and import', () => {
  let app: TestApp;
  let api: ApiClient;
  let config: ConfigClient;

  beforeAll(async () => {
    app = await startTestApp({ API_KEY: KEY });
    api = new ApiClient(app.url, AUTH);
    config = new ConfigClient(app.url, AUTH);
  });

  afterAll(async () => {
    await app?.close();
  });

  describe('GET /config/export', () => {
    it('is byte-identical twice, JSON and YAML alike, and the two formats hold the same document', async () => {
      const ut = unique('export');
      await api.create(configBody(ut, 2, { parameters: { b: 1, a: { d: [3, 1], c: 'x' } } }));
      await api.create(configBody(ut, 1, { enabled: false }));
      const json = await config.exportRaw();
      expect(String(json.headers['content-type'])).toMatch(/^application\/json/);
      expect(json.text).toBe(await config.exportText('json'));
      const yaml = await config.exportRaw('yaml');
      expect(String(yaml.headers['content-type'])).toMatch(/^application\/yaml/);
      expect(yaml.text).toBe(await config.exportText('yaml'));
      expect(yaml.text.endsWith('\n')).toBe(true);
      const doc = JSON.parse(json.text) as ConfigDoc;
      expect(parse(yaml.text)).toEqual(doc);
      // Pretty-printed with 2 spaces and a trailing newline, keys in the fixed order.
      expect(json.text).toBe(`${JSON.stringify(doc, null, 2)}\n`);
      expect(doc.usageTypes[ut]).toEqual([
        item(1, { provider: 'test-provider', enabled: false }),
        item(2, { provider: 'test-provider', parameters: { a: { c: 'x', d: [3, 1] }, b: 1 } }),
      ]);
      expect(JSON.stringify(doc.usageTypes[ut][1].parameters)).toBe(
        '{"a":{"c":"x","d":[3,1]},"b":1}',
      );
      for (const items of Object.values(doc.usageTypes)) {
        for (const one of items) {
          expect(Object.keys(one)).toEqual([
            'priority',
            'modelId',
            'modelName',
            'provider',
            'enabled',
            'parameters',
          ]);
        }
      }
      // The nine defaults are there, and nothing server-side leaks into the document.
      expect(Object.keys(doc.usageTypes)).toContain('chat_deep');
      expect(json.text).not.toMatch(/"(id|version|createdAt|updatedAt)"/);
    });

    it('orders usage types by code point and items by priority', async () => {
      const prefix = unique('order');
      for (const [suffix, priority] of [
        ['b', 3],
        ['a', 7],
        ['a', 2],
        ['-z', 1],
        ['a', 1000],
      ] as const) {
        await api.create(configBody(`${prefix}${suffix}`, priority));
      }
      const doc = await config.exportDoc();
      const usageTypes = Object.keys(doc.usageTypes);
      expect(usageTypes).toEqual([...usageTypes].sort());
      expect(doc.usageTypes[`${prefix}a`].map((one) => one.priority)).toEqual([2, 7, 1000]);
    });

    it('answers 400 to an unknown format, and is open without an API key', async () => {
      const res = await new ConfigClient(app.url).exportRaw('json');
      expect(res.status).toBe(200);
      const bad = await api.http().get(`${API}/config/export?format=xml`);
      expect(expectErrorBody(400, 'VALIDATION_FAILED', bad).message).toEqual([
        'format must be json or yaml',
      ]);
    });
  });

  describe('POST /config/import', () => {
    it('round-trips an export (JSON and YAML) as an all-unchanged plan that writes nothing', async () => {
      const before = await config.exportText();
      const doc = JSON.parse(before) as ConfigDoc;
      const total = Object.values(doc.usageTypes).reduce((n, items) => n + items.length, 0);
      for (const format of ['json', 'yaml'] as const) {
        for (const prune of [false, true]) {
          const plan = await config.importDoc(doc, { format, prune });
          expect(plan.dryRun).toBe(false);
          expect(plan.applied).toBe(true);
          expect(plan.summary).toEqual({ create: 0, update: 0, delete: 0, unchanged: total });
          expect(plan.changes.every((change) => change.action === 'unchanged')).toBe(true);
        }
      }
      // The YAML export itself, sent as it is.
      const yaml = await config.exportText('yaml');
      const res = await config.importRaw(yaml, 'application/yaml', 'prune=true');
      expect(JSON.parse(res.text)).toMatchObject({ summary: { unchanged: total } });
      expect(await config.exportText()).toBe(before);
    });

    it('answers a dry run with the plan and writes nothing', async () => {
      const ut = unique('dry');
      const [one, two] = await api.createMany([configBody(ut, 1), configBody(ut, 2)]);
      const before = await config.exportText();
      const doc = withUsageType(JSON.parse(before) as ConfigDoc, ut, [
        item(1, { provider: 'test-provider', modelName: 'Renamed' }),
        item(3),
      ]);
      const plan = await config.importDoc(doc, { dryRun: true, prune: true });
      expect(plan).toMatchObject({ dryRun: true, applied: false });
      expect(plan.summary).toMatchObject({ create: 1, update: 1, delete: 1 });
      expect(plan.changes.filter((change) => change.usageType === ut)).toEqual([
        {
          action: 'update',
          usageType: ut,
          priority: 1,
          modelId: 'model-1',
          fields: { modelName: { from: 'Model 1', to: 'Renamed' } },
        },
        { action: 'delete', usageType: ut, priority: 2, modelId: 'model-2' },
        { action: 'create', usageType: ut, priority: 3, modelId: 'model-3' },
      ]);
      expect(await config.exportText()).toBe(before);
      expect(await api.get(one.id)).toEqual(one);
      expect(await api.get(two.id)).toEqual(two);
    });

    it('applies creates, updates and (with prune) deletes exactly as planned, bumping versions', async () => {
      const ut = unique('apply');
      const [p1, p2, p3] = await api.createMany([1, 2, 3].map((p) => configBody(ut, p)));
      const fresh = unique('fresh');
      const base = JSON.parse(await config.exportText()) as ConfigDoc;
      const changed = {
        modelId: 'model-2b',
        enabled: false,
        parameters: { temperature: 0.2, constructor: { toString: 1 } },
      };
      const doc = withUsageType(
        withUsageType(base, ut, [
          item(1, { provider: 'test-provider' }),
          item(2, { provider: 'test-provider', ...changed }),
          item(4, { modelName: 'Four' }),
        ]),
        fresh,
        [item(1)],
      );
      const planned = await config.importDoc(doc, { dryRun: true });
      const applied = await config.importDoc(doc);
      expect(applied).toEqual({ ...planned, dryRun: false, applied: true });
      // Without prune, priority 3 (absent from the document) stays and is not listed.
      expect(applied.summary).toMatchObject({ create: 2, update: 1, delete: 0 });
      const fields = {
        modelId: { from: 'model-2', to: 'model-2b' },
        enabled: { from: true, to: false },
        parameters: { from: {}, to: { constructor: { toString: 1 }, temperature: 0.2 } },
      };
      expect(applied.changes.filter((change) => change.usageType === ut)).toEqual([
        { action: 'unchanged', usageType: ut, priority: 1, modelId: 'model-1' },
        { action: 'update', usageType: ut, priority: 2, modelId: 'model-2b', fields },
        { action: 'create', usageType: ut, priority: 4, modelId: 'model-4' },
      ]);
      const stored = await api.ofUsageType(ut);
      expect(stored.map((c) => `${c.priority}:v${c.version}`)).toEqual([
        '1:v1',
        '2:v2',
        '3:v1',
        '4:v1',
      ]);
      expect(stored[0]).toEqual(p1);
      expect(stored[1]).toMatchObject({ id: p2.id, ...changed, createdAt: p2.createdAt });
      expect(stored[2]).toEqual(p3);
      expect((await api.ofUsageType(fresh)).map((c) => c.modelId)).toEqual(['model-1']);
      const [i1, i2, i4] = doc.usageTypes[ut];
      const i3 = item(3, { provider: 'test-provider' });
      expect(await config.exportDoc()).toEqual(withUsageType(doc, ut, [i1, i2, i3, i4]));

      // With prune, exactly the slot the document lacks is deleted.
      const pruned = await config.importDoc(doc, { prune: true });
      expect(pruned.summary).toMatchObject({ create: 0, update: 0, delete: 1 });
      expect(pruned.changes.filter((change) => change.action === 'delete')).toEqual([
        { action: 'delete', usageType: ut, priority: 3, modelId: 'model-3' },
      ]);
      await api.expectGone(p3.id);
      expect(await config.exportDoc()).toEqual(JSON.parse(JSON.stringify(doc)));
    });

    it('deletes nothing without prune, even for an empty document', async () => {
      const before = await config.exportText();
      const plan = await config.importDoc({ usageTypes: {} });
      expect(plan.summary).toEqual({ create: 0, update: 0, delete: 0, unchanged: 0 });
      expect(plan.changes).toEqual([]);
      const dry = await config.importDoc({ usageTypes: {} }, { dryRun: true, prune: true });
      const total = Object.values((JSON.parse(before) as ConfigDoc).usageTypes).flat().length;
      expect(dry.summary).toEqual({ create: 0, update: 0, delete: total, unchanged: 0 });
      expect(dry.changes.every((change) => change.action === 'delete')).toBe(true);
      expect(await config.exportText()).toBe(before);
    });

    it('keeps keys named like Object.prototype members as data: usage type and parameters', async () => {
      const parameters = {
        constructor: { prototype: { polluted: true } },
        toString: 'x',
        valueOf: [1, { hasOwnProperty: null }],
        __defineGetter__: 1,
      };
      const doc = withUsageType(await config.exportDoc(), 'constructor', [
        item(1, { parameters }),
        item(2, { parameters: { toString: { constructor: 'y' } } }),
      ]);
      for (const format of ['json', 'yaml'] as const) {
        const plan = await config.importDoc(doc, { format });
        const mine = plan.changes.filter((change) => change.usageType === 'constructor');
        expect(mine.map((change) => change.action)).toEqual(
          format === 'json' ? ['create', 'create'] : ['unchanged', 'unchanged'],
        );
      }
      const [stored] = await api.ofUsageType('constructor');
      expect(stored.parameters).toEqual(parameters);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const json = JSON.parse(await config.exportText('json')) as ConfigDoc;
      const yaml = parse(await config.exportText('yaml')) as ConfigDoc;
      for (const exported of [json, yaml]) {
        expect(Object.hasOwn(exported.usageTypes, 'constructor')).toBe(true);
        expect(exported.usageTypes.constructor).toEqual(doc.usageTypes.constructor);
      }
      const again = await config.importDoc(json, { format: 'yaml', prune: true });
      expect(again.summary).toMatchObject({ create: 0, update: 0, delete: 0 });
    });
  });
});
