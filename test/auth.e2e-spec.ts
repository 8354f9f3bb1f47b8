import type { Test } from 'supertest';
import { ApiClient } from './support/api';
import {
  API,
  type ModelConfig,
  configBody,
  expectCommonHeaders,
  expectError,
  expectErrorBody,
  ok,
  rawRequest,
  unique,
} from './support/http';
import { type TestApp, startTestApp } from './support/test-app';

const KEY = 'test-key-123456';

describe('authentication with API_KEY set', () => {
  let app: TestApp;
  /** Sends no key. */
  let anonymous: ApiClient;
  /** Sends the key as a Bearer token. */
  let keyed: ApiClient;
  let existing: ModelConfig;

  beforeAll(async () => {
    app = await startTestApp({ API_KEY: KEY });
    anonymous = new ApiClient(app.url);
    keyed = new ApiClient(app.url, { Authorization: `Bearer ${KEY}` });
    existing = await keyed.create(configBody(unique('auth'), 1));
  });

  afterAll(async () => {
    await app?.close();
  });

  /** Every write endpoint of API.md §2, as a request without credentials. */
  const writes = (): [string, () => Test][] => {
    const http = anonymous.http();
    const ut = existing.usageType;
    const item = { modelId: 'm', modelName: 'M', provider: 'p' };
    return [
      ['POST /model-configs', () => http.post(`${API}/model-configs`).send(configBody(ut, 2))],
      [
        'POST /model-configs/bulk',
        () => http.post(`${API}/model-configs/bulk`).send({ items: [configBody(ut, 3)] }),
      ],
      ['POST /model-configs/seed', () => http.post(`${API}/model-configs/seed`)],
      ['POST /model-configs/reset', () => http.post(`${API}/model-configs/reset`)],
      [
        'PATCH /model-configs/:id',
        () => http.patch(`${API}/model-configs/${existing.id}`).send({ modelName: 'hacked' }),
      ],
      ['DELETE /model-configs/:id', () => http.delete(`${API}/model-configs/${existing.id}`)],
      [
        'PUT /model-configs/by-slot/:usageType/:priority',
        () => http.put(`${API}/model-configs/by-slot/${ut}/1`).send(item),
      ],
      [
        'DELETE /model-configs/by-slot/:usageType/:priority',
        () => http.delete(`${API}/model-configs/by-slot/${ut}/1`),
      ],
      [
        'PUT /usage-types/:usageType/chain',
        () => http.put(`${API}/usage-types/${ut}/chain`).send({ items: [item] }),
      ],
    ];
  };

  async function expectUntouched(): Promise<void> {
    expect(await anonymous.ofUsageType(existing.usageType)).toEqual([existing]);
    expect((await anonymous.list('limit=1000')).total).toBe(10);
  }

  it('leaves every GET open', async () => {
    const http = anonymous.http();
    const ut = existing.usageType;
    for (const path of [
      `${API}/model-configs`,
      `${API}/model-configs/grouped`,
      `${API}/model-configs/${existing.id}`,
      `${API}/usage-types`,
      `${API}/usage-types/${ut}/active`,
      `${API}/usage-types/${ut}/fallback-chain`,
      `${API}/usage-types/${ut}/models/${existing.modelId}`,
      `${API}/providers/${existing.provider}/models`,
      '/docs-json',
    ]) {
      ok(await http.get(path));
    }
  });

  it('answers 401 UNAUTHORIZED to every write without a key, changing nothing', async () => {
    for (const [label, send] of writes()) {
      const res = await send();
      try {
        expectError(res, 401, 'UNAUTHORIZED');
      } catch (error) {
        throw new Error(`${label}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    await expectUntouched();
  });

  it.each<[string, Record<string, string>]>([
    ['a wrong Bearer key', { Authorization: 'Bearer wrong-key-123456' }],
    ['a wrong X-API-Key', { 'X-API-Key': 'wrong-key-123456' }],
    ['the key with a different case', { Authorization: `Bearer ${KEY.toUpperCase()}` }],
    ['a prefix of the key', { Authorization: `Bearer ${KEY.slice(0, -1)}` }],
    ['the key plus a suffix', { 'X-API-Key': `${KEY}x` }],
    ['the key as Basic credentials', { Authorization: `Basic ${KEY}` }],
    ['the bare key in Authorization', { Authorization: KEY }],
    ['an empty Bearer', { Authorization: 'Bearer ' }],
    ['an empty X-API-Key', { 'X-API-Key': '' }],
    ['the key in another header', { 'X-Api-Token': KEY }],
    ['the key in a cookie', { Cookie: `api_key=${KEY}` }],
  ])('answers 401 to a write with %s', async (_label, headers) => {
    const res = await anonymous
      .http()
      .post(`${API}/model-configs`)
      .set(headers)
      .send(configBody(unique(), 1));
    expectError(res, 401, 'UNAUTHORIZED');
  });

  it.each(['api_key', 'apiKey', 'key', 'token', 'access_token'])(
    'ignores the key in the query string (?%s=<key>): 401',
    async (name) => {
      const ut = unique();
      const res = await anonymous
        .http()
        .post(`${API}/model-configs?${name}=${KEY}`)
        .send(configBody(ut, 1));
      expectError(res, 401, 'UNAUTHORIZED');
      expect(await anonymous.ofUsageType(ut)).toEqual([]);
    },
  );

  it('accepts Authorization: Bearer <key>', async () => {
    const res = await anonymous
      .http()
      .post(`${API}/model-configs`)
      .set('Authorization', `Bearer ${KEY}`)
      .send(configBody(unique(), 1));
    ok(res, 201);
  });

  it('accepts X-API-Key: <key>', async () => {
    const ut = unique();
    const res = await anonymous
      .http()
      .post(`${API}/model-configs`)
      .set('X-API-Key', KEY)
      .send(configBody(ut, 1));
    const created = ok<ModelConfig>(res, 201);
    const patched = await anonymous
      .http()
      .patch(`${API}/model-configs/${created.id}`)
      .set('X-API-Key', KEY)
      .send({ modelName: 'via header' });
    expect(ok<ModelConfig>(patched).modelName).toBe('via header');
    ok(
      await anonymous.http().delete(`${API}/model-configs/${created.id}`).set('X-API-Key', KEY),
      204,
    );
  });

  it('authorises a request when either header carries the key', async () => {
    const one = await anonymous
      .http()
      .post(`${API}/model-configs`)
      .set('Authorization', 'Bearer wrong-key-123456')
      .set('X-API-Key', KEY)
      .send(configBody(unique(), 1));
    ok(one, 201);
    const other = await anonymous
      .http()
      .post(`${API}/model-configs`)
      .set('Authorization', `Bearer ${KEY}`)
      .set('X-API-Key', 'wrong-key-123456')
      .send(configBody(unique(), 1));
    ok(other, 201);
  });

  it('authorises every write endpoint with the key', async () => {
    const ut = unique();
    const http = keyed.http();
    const auth = keyed.writeHeaders;
    const created = ok<ModelConfig>(
      await http.post(`${API}/model-configs`).set(auth).send(configBody(ut, 1)),
      201,
    );
    ok(
      await http
        .post(`${API}/model-configs/bulk`)
        .set(auth)
        .send({ items: [configBody(ut, 2)] }),
      201,
    );
    ok(await http.patch(`${API}/model-configs/${created.id}`).set(auth).send({ enabled: false }));
    ok(
      await http
        .put(`${API}/model-configs/by-slot/${ut}/3`)
        .set(auth)
        .send({ modelId: 'm', modelName: 'M', provider: 'p' }),
      201,
    );
    ok(await http.delete(`${API}/model-configs/by-slot/${ut}/3`).set(auth), 204);
    ok(await http.delete(`${API}/model-configs/${created.id}`).set(auth), 204);
    ok(
      await http
        .put(`${API}/usage-types/${ut}/chain`)
        .set(auth)
        .send({ items: [{ modelId: 'm', modelName: 'M', provider: 'p' }] }),
    );
    expect(ok<unknown>(await http.post(`${API}/model-configs/seed`).set(auth))).toEqual({
      inserted: 0,
    });
  });

  it('checks the key before validating the body', async () => {
    const res = await anonymous.http().post(`${API}/model-configs`).send({ bogus: true });
    expectError(res, 401, 'UNAUTHORIZED');
  });

  it.each([
    ['/%61pi/v1/model-configs', 'a percent-encoded letter in the prefix'],
    [`/api/v%31/model-configs`, 'a percent-encoded digit in the prefix'],
    [`${API}/%6dodel-configs`, 'a percent-encoded letter in the resource'],
  ])('cannot be bypassed with the path %s (%s)', async (path) => {
    const ut = unique('bypass');
    const res = await rawRequest(app.url, {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(configBody(ut, 1)),
    });
    expect(res.status).not.toBe(201);
    if (res.status === 401) expectErrorBody(401, 'UNAUTHORIZED', res);
    else expectErrorBody(404, 'NOT_FOUND', res);
    expect(await anonymous.ofUsageType(ut)).toEqual([]);
  });

  it('answers OPTIONS by routing, before authentication', async () => {
    const res = await rawRequest(app.url, { method: 'OPTIONS', path: `${API}/model-configs` });
    expect([204, 404, 405]).toContain(res.status);
    expectCommonHeaders(res.headers);
  });

  it('changed nothing without a valid key', async () => {
    expect(await anonymous.get(existing.id)).toEqual(existing);
  });
});

describe('authentication with API_KEY unset', () => {
  let app: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    app = await startTestApp();
    api = new ApiClient(app.url);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('leaves writes open', async () => {
    const ut = unique();
    const created = await api.create(configBody(ut, 1));
    expect(await api.patch(created.id, { enabled: false })).toMatchObject({ enabled: false });
    ok(await api.http().delete(`${API}/model-configs/${created.id}`), 204);
    expect(ok<unknown>(await api.http().post(`${API}/model-configs/seed`))).toEqual({
      inserted: 0,
    });
  });

  it('ignores credentials it does not need', async () => {
    const res = await api
      .http()
      .post(`${API}/model-configs`)
      .set('Authorization', 'Bearer anything-at-all')
      .send(configBody(unique(), 1));
    ok(res, 201);
  });
});
