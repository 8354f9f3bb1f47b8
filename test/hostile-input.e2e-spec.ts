import { ApiClient } from './support/api';
import {
  API,
  type RawResponse,
  configBody,
  expectCommonHeaders,
  expectError,
  expectErrorBody,
  expectValidation,
  ok,
  rawRequest,
  rawSocket,
  unique,
} from './support/http';
import { type TestApp, startTestApp } from './support/test-app';

const MiB = 1024 * 1024;

describe('errors and hostile input', () => {
  let app: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    app = await startTestApp();
    api = new ApiClient(app.url);
  });

  afterAll(async () => {
    await app?.close();
  });

  /** POSTs `body` (bytes as given) to create a config. */
  const postRaw = (
    body: string | Buffer,
    contentType: string | null = 'application/json',
    path = `${API}/model-configs`,
  ): Promise<RawResponse> =>
    rawRequest(app.url, {
      method: 'POST',
      path,
      headers: contentType === null ? {} : { 'content-type': contentType },
      body,
    });

  /** A create body for a fresh usage type, serialized. */
  const validJson = (ut = unique()): string => JSON.stringify(configBody(ut, 1));

  /** A JSON object with as many distinct short keys as fit in `bytes`. */
  function wideObject(bytes: number): string {
    const members: string[] = [];
    let length = 2;
    for (let i = 0; length < bytes - 16; i++) {
      const member = `"${i.toString(36)}":0`;
      members.push(member);
      length += member.length + 1;
    }
    return `{${members.join(',')}}`;
  }

  async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
    const started = Date.now();
    const result = await fn();
    return [result, Date.now() - started];
  }

  describe('body size', () => {
    it('answers 413 PAYLOAD_TOO_LARGE with the standard body for a body over 1 MiB', async () => {
      const body = JSON.stringify({ ...configBody(unique()), parameters: { x: 'y'.repeat(MiB) } });
      const res = await api
        .http()
        .post(`${API}/model-configs`)
        .set('Content-Type', 'application/json')
        .send(body);
      expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('answers 413 for a chunked body over 1 MiB (no Content-Length)', async () => {
      const res = await rawRequest(app.url, {
        method: 'POST',
        path: `${API}/model-configs`,
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        body: `{"parameters":{"x":"${'z'.repeat(MiB + 1024)}"}}`,
      });
      expectErrorBody(413, 'PAYLOAD_TOO_LARGE', res);
    });

    it('reads a body just under 1 MiB (and refuses its oversized parameters with 400)', async () => {
      const ut = unique();
      const padding = 'p'.repeat(MiB - 4096);
      const res = await postRaw(JSON.stringify({ ...configBody(ut), parameters: { padding } }));
      const body = expectErrorBody(400, 'VALIDATION_FAILED', res);
      expect(JSON.stringify(body.message)).toContain('parameters');
    });
  });

  describe('content type', () => {
    it.each([
      'text/plain',
      'text/plain; charset=utf-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/jsonx',
      'application/xml',
      'text/json',
    ])('answers 415 UNSUPPORTED_MEDIA_TYPE for a body sent as %s', async (contentType) => {
      const ut = unique();
      expectErrorBody(415, 'UNSUPPORTED_MEDIA_TYPE', await postRaw(validJson(ut), contentType));
      expect(await api.ofUsageType(ut)).toEqual([]);
    });

    it('answers 415 for a body without any Content-Type', async () => {
      const ut = unique();
      expectErrorBody(415, 'UNSUPPORTED_MEDIA_TYPE', await postRaw(validJson(ut), null));
      expect(await api.ofUsageType(ut)).toEqual([]);
    });

    it('answers 415 on PATCH and PUT as well', async () => {
      const created = await api.create(configBody(unique()));
      const patch = await rawRequest(app.url, {
        method: 'PATCH',
        path: `${API}/model-configs/${created.id}`,
        headers: { 'content-type': 'text/plain' },
        body: '{"modelName":"x"}',
      });
      expectErrorBody(415, 'UNSUPPORTED_MEDIA_TYPE', patch);
      const put = await rawRequest(app.url, {
        method: 'PUT',
        path: `${API}/model-configs/by-slot/${unique()}/1`,
        headers: { 'content-type': 'text/csv' },
        body: 'modelId,modelName,provider\nm,M,p',
      });
      expectErrorBody(415, 'UNSUPPORTED_MEDIA_TYPE', put);
      expect(await api.get(created.id)).toEqual(created);
    });

    it.each([
      'application/json; charset=utf-8',
      'application/json;charset=UTF-8',
      'application/json',
      'Application/JSON',
    ])('accepts %s', async (contentType) => {
      const ut = unique();
      const res = await postRaw(validJson(ut), contentType);
      expect(res.status).toBe(201);
      expectCommonHeaders(res.headers);
      expect(await api.ofUsageType(ut)).toHaveLength(1);
    });

    it('does not check requests without a body', async () => {
      const seed = (headers: Record<string, string>): Promise<RawResponse> =>
        rawRequest(app.url, { method: 'POST', path: `${API}/model-configs/seed`, headers });
      expect((await seed({})).status).toBe(200);
      expect((await seed({ 'content-length': '0' })).status).toBe(200);
      expect(
        (await seed({ 'content-type': 'application/json', 'content-length': '0' })).status,
      ).toBe(200);
      const created = await api.create(configBody(unique()));
      const del = await rawRequest(app.url, {
        method: 'DELETE',
        path: `${API}/model-configs/${created.id}`,
      });
      expect(del.status).toBe(204);
    });

    it('does not check the Content-Type of a request without a body', async () => {
      const res = await rawRequest(app.url, {
        method: 'POST',
        path: `${API}/model-configs/seed`,
        headers: { 'content-type': 'text/plain', 'content-length': '0' },
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual({ inserted: 0 });
    });
  });

  describe('malformed JSON', () => {
    it.each([
      ['an unterminated object', '{"usageType":'],
      ['garbage', '{bad json'],
      ['trailing garbage', '{}x'],
      ['single quotes', "{'usageType':'a'}"],
      ['a trailing comma', '{"usageType":"a",}'],
      ['NaN', '{"priority":NaN}'],
      ['a comment', '{/* c */}'],
      ['two documents', '{}{}'],
      ['a BOM-less UTF-16 body', Buffer.from('{"a":1}', 'utf16le')],
    ])('answers 400 VALIDATION_FAILED for %s', async (_label, body) => {
      expectErrorBody(400, 'VALIDATION_FAILED', await postRaw(body));
    });

    it.each([
      ['__proto__ at the top', '{"__proto__":{"polluted":true},"usageType":"a"}'],
      [
        '__proto__ inside parameters',
        `{"usageType":"${unique()}","priority":1,"modelId":"m","modelName":"M","provider":"p","parameters":{"__proto__":{"polluted":true}}}`,
      ],
    ])('answers 400 for %s and pollutes nothing', async (_label, body) => {
      expectErrorBody(400, 'VALIDATION_FAILED', await postRaw(body));
      // The server runs in this process: its prototypes are ours.
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('stores constructor.prototype inside parameters verbatim (it is data) and pollutes nothing', async () => {
      const parameters = { constructor: { prototype: { polluted: true } }, prototype: 1 };
      const res = await postRaw(JSON.stringify({ ...configBody(unique()), parameters }));
      expect(res.status).toBe(201);
      const created = JSON.parse(res.text) as { id: string };
      expect((await api.get(created.id)).parameters).toEqual(parameters);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
      expect(Function.prototype).not.toHaveProperty('polluted');
    });

    it('answers 400 or lets the last value win for duplicate keys', async () => {
      const first = unique();
      const last = unique();
      const res = await postRaw(
        `{"usageType":"${first}","usageType":"${last}","priority":1,"modelId":"m","modelName":"M","provider":"p"}`,
      );
      if (res.status === 400) expectErrorBody(400, 'VALIDATION_FAILED', res);
      else {
        expect(res.status).toBe(201);
        expect(JSON.parse(res.text)).toMatchObject({ usageType: last });
        expect(await api.ofUsageType(first)).toEqual([]);
      }
    });

    it.each([
      ['an invalid start byte', [0xff]],
      ['a lone continuation byte', [0x80]],
      ['an overlong encoding of "/"', [0xc0, 0xaf]],
      ['a truncated sequence', [0xe2, 0x82]],
      ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ])('answers 400 for invalid UTF-8: %s', async (_label, bytes) => {
      const ut = unique();
      const body = Buffer.concat([
        Buffer.from(`{"usageType":"${ut}","priority":1,"modelId":"m`),
        Buffer.from(bytes),
        Buffer.from('","modelName":"M","provider":"p"}'),
      ]);
      expectErrorBody(400, 'VALIDATION_FAILED', await postRaw(body));
      expect(await api.ofUsageType(ut)).toEqual([]);
    });

    it.each([
      ['a lone high surrogate in a value', '"modelId":"a\\ud800b"'],
      ['a lone low surrogate in a value', '"modelId":"\\uDC00"'],
      ['a lone surrogate in a parameters key', '"modelId":"m","parameters":{"\\ud83d":1}'],
      ['a reversed pair', '"modelId":"\\ude80\\ud83d"'],
    ])('answers 400 for %s', async (_label, fragment) => {
      const ut = unique();
      const body = `{"usageType":"${ut}","priority":1,"modelName":"M","provider":"p",${fragment}}`;
      expectErrorBody(400, 'VALIDATION_FAILED', await postRaw(body));
      expect(await api.ofUsageType(ut)).toEqual([]);
    });

    it('accepts a valid surrogate pair escape and stores the character', async () => {
      const ut = unique();
      const body = `{"usageType":"${ut}","priority":1,"modelId":"rocket-\\ud83d\\ude80","modelName":"M","provider":"p"}`;
      const res = await postRaw(body);
      expect(res.status).toBe(201);
      expect((await api.ofUsageType(ut))[0].modelId).toBe('rocket-🚀');
    });
  });

  describe('nesting and width', () => {
    it('answers 400 within 5 s for arrays nested 10,000 levels deep', async () => {
      const [res, ms] = await timed(() => postRaw(`${'['.repeat(10_000)}${']'.repeat(10_000)}`));
      expectErrorBody(400, 'VALIDATION_FAILED', res);
      expect(ms).toBeLessThan(5000);
    });

    it('answers 400 within 5 s for objects nested 10,000 levels deep in parameters', async () => {
      const inner = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
      const body = `{"usageType":"${unique()}","priority":1,"modelId":"m","modelName":"M","provider":"p","parameters":${inner}}`;
      const [res, ms] = await timed(() => postRaw(body));
      expectErrorBody(400, 'VALIDATION_FAILED', res);
      expect(ms).toBeLessThan(5000);
    });

    it('answers 400/413 within 5 s for an unbalanced body of 500,000 brackets', async () => {
      const [res, ms] = await timed(() => postRaw('['.repeat(500_000)));
      expect([400, 413]).toContain(res.status);
      expectErrorBody(
        res.status,
        res.status === 400 ? 'VALIDATION_FAILED' : 'PAYLOAD_TOO_LARGE',
        res,
      );
      expect(ms).toBeLessThan(5000);
    });

    it('answers 400 within 5 s for parameters as wide as 1 MiB allows', async () => {
      const ut = unique();
      const body = `{"usageType":"${ut}","priority":1,"modelId":"m","modelName":"M","provider":"p","parameters":${wideObject(MiB - 1024)}}`;
      expect(body.length).toBeLessThan(MiB);
      const [res, ms] = await timed(() => postRaw(body));
      expectErrorBody(400, 'VALIDATION_FAILED', res);
      expect(ms).toBeLessThan(5000);
      expect(await api.ofUsageType(ut)).toEqual([]);
    }, 60_000);

    it('answers 400 within 5 s for as many unknown fields as fit in 1 MiB, naming at most 20', async () => {
      const [res, ms] = await timed(() => postRaw(wideObject(MiB - 1024)));
      const body = expectErrorBody(400, 'VALIDATION_FAILED', res);
      expect((body.message as string[]).length).toBeLessThanOrEqual(20);
      expect(ms).toBeLessThan(5000);
    }, 60_000);

    it('serves other clients while it refuses a very wide body', async () => {
      let refused = false;
      const wide = postRaw(wideObject(MiB - 1024)).then((res) => {
        refused = true;
        return res;
      });
      // Ask for something cheap, again and again, until the wide body has been refused. The
      // server shares this process's event loop, so the longest gap between two answers is how
      // long other clients had to wait.
      let last = Date.now();
      let longestWait = 0;
      while (!refused) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const live = await rawRequest(app.url, { method: 'GET', path: '/health/live' });
        expect(live.status).toBe(200);
        longestWait = Math.max(longestWait, Date.now() - last - 20);
        last = Date.now();
      }
      expect(longestWait).toBeLessThan(1000);
      expect([400, 413]).toContain((await wide).status);
    }, 60_000);

    it('names at most the first 20 offending fields', async () => {
      const body = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`bogus${i}`, i]));
      const messages = expectValidation(await api.http().post(`${API}/model-configs`).send(body));
      expect(messages.length).toBeLessThanOrEqual(20);
    });

    it('still serves other clients while refusing a hostile body', async () => {
      const hostile = postRaw(`${'['.repeat(400_000)}${']'.repeat(400_000)}`);
      const list = await api.list('limit=1');
      expect(list.items).toHaveLength(1);
      expect([400, 413]).toContain((await hostile).status);
    });
  });

  describe('routes and methods', () => {
    it.each([
      ['GET', '/zzqq-secret-path'],
      ['GET', `${API}/zzqq-secret-path`],
      ['POST', `${API}/model-configs/zzqq-secret-path/extra`],
      ['DELETE', `${API}/usage-types/zzqq-secret-path`],
      ['GET', `${API}/model-configs/by-slot/zzqq-secret-path`],
    ])(
      'answers %s %s with 404 or 405 and a body that does not echo the path',
      async (method, path) => {
        const res = await rawRequest(app.url, { method, path });
        expect([404, 405]).toContain(res.status);
        const body = expectErrorBody(
          res.status,
          res.status === 404 ? 'NOT_FOUND' : 'METHOD_NOT_ALLOWED',
          res,
        );
        expect(JSON.stringify(body)).not.toContain('zzqq');
      },
    );

    it('answers a method a route does not serve with 404 or 405 and the standard body', async () => {
      for (const [method, path] of [
        ['PATCH', `${API}/model-configs`],
        ['DELETE', `${API}/usage-types`],
        ['POST', `${API}/usage-types/chat_deep/active`],
      ]) {
        const res = await rawRequest(app.url, {
          method,
          path,
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        expect([404, 405]).toContain(res.status);
        expectErrorBody(res.status, res.status === 404 ? 'NOT_FOUND' : 'METHOD_NOT_ALLOWED', res);
      }
    });

    it('does not serve TRACE', async () => {
      const res = await rawRequest(app.url, { method: 'TRACE', path: `${API}/model-configs` });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.text).not.toContain('TRACE /');
      expectCommonHeaders(res.headers);
    });

    it('ignores method-override headers and parameters', async () => {
      const created = await api.create(configBody(unique()));
      for (const header of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']) {
        const res = await api
          .http()
          .get(`${API}/model-configs/${created.id}`)
          .set(header, 'DELETE');
        expect(ok<unknown>(res)).toEqual(created);
      }
      const post = await api
        .http()
        .post(`${API}/model-configs?_method=DELETE`)
        .set('X-HTTP-Method-Override', 'DELETE')
        .send(configBody(unique()));
      expect(post.status).not.toBe(204);
      expect(await api.get(created.id)).toEqual(created);
    });
  });

  describe('URL limits', () => {
    it('answers 414 with the standard body for a URL longer than 8192 characters', async () => {
      const res = await api.http().get(`${API}/model-configs?usageType=${'a'.repeat(8200)}`);
      const body = expectError(res, 414, 'URI_TOO_LONG');
      expect(JSON.stringify(body)).not.toContain('aaaaaaaa');
    });

    it('reads a URL just under 8192 characters (and validates it: 400)', async () => {
      const path = `${API}/model-configs?usageType=`;
      const res = await api.http().get(`${path}${'a'.repeat(8000 - path.length)}`);
      expectValidation(res, 'usageType');
    });

    it('answers a path parameter over the router limit with the standard body, not echoing it', async () => {
      const long = 'x'.repeat(2000);
      const res = await rawRequest(app.url, {
        method: 'GET',
        path: `${API}/usage-types/${long}/active`,
      });
      expect([400, 404, 414]).toContain(res.status);
      const code = { 400: 'VALIDATION_FAILED', 404: 'NOT_FOUND', 414: 'URI_TOO_LONG' }[
        res.status as 400 | 404 | 414
      ];
      const body = expectErrorBody(res.status, code, res);
      expect(JSON.stringify(body)).not.toContain('xxxxxxxx');
    });

    it.each([
      `${API}/model-configs/%zz`,
      `${API}/usage-types/%E0%A4%A/active`,
      `${API}/providers/%/models`,
    ])('answers the malformed percent-encoding %s with 400 and the standard body', async (path) => {
      const res = await rawRequest(app.url, { method: 'GET', path });
      const body = expectErrorBody(400, 'VALIDATION_FAILED', res);
      expect(JSON.stringify(body)).not.toContain(path);
    });

    it('answers a malformed percent-encoding in the query with 400', async () => {
      const res = await rawRequest(app.url, {
        method: 'GET',
        path: `${API}/model-configs?usageType=%zz`,
      });
      expectErrorBody(400, 'VALIDATION_FAILED', res);
    });
  });

  describe('request ids and headers', () => {
    it('puts X-Request-Id and nosniff (and no X-Powered-By) on every response', async () => {
      const created = await api.create(configBody(unique()));
      const responses: RawResponse[] = [
        await rawRequest(app.url, { method: 'GET', path: `${API}/model-configs?limit=1` }),
        await rawRequest(app.url, { method: 'GET', path: `${API}/model-configs/${created.id}` }),
        await postRaw(validJson()),
        await postRaw(validJson(created.usageType)),
        await postRaw('{}'),
        await postRaw('{', 'text/plain'),
        await postRaw(`{"x":"${'y'.repeat(MiB + 10)}"}`),
        await rawRequest(app.url, {
          method: 'PATCH',
          path: `${API}/model-configs/${created.id}`,
          headers: { 'if-match': '"99"', 'content-type': 'application/json' },
          body: '{}',
        }),
        await rawRequest(app.url, { method: 'DELETE', path: `${API}/model-configs/${created.id}` }),
        await rawRequest(app.url, { method: 'GET', path: `${API}/model-configs/${created.id}` }),
        await rawRequest(app.url, { method: 'GET', path: `/${'u'.repeat(9000)}` }),
        await rawRequest(app.url, { method: 'GET', path: '/nowhere' }),
        await rawRequest(app.url, { method: 'GET', path: '/docs-json' }),
        await rawRequest(app.url, { method: 'GET', path: '/docs' }),
        await rawRequest(app.url, { method: 'GET', path: '/health/live' }),
      ];
      expect(responses.map((r) => r.status)).toEqual([
        200, 200, 201, 409, 400, 415, 413, 412, 204, 404, 414, 404, 200, 200, 200,
      ]);
      for (const res of responses) {
        expectCommonHeaders(res.headers);
        if (res.status >= 400) expectErrorBody(res.status, String(JSON.parse(res.text).code), res);
      }
      const ids = responses.map((r) => String(r.headers['x-request-id']));
      expect(new Set(ids).size).toBe(ids.length);
    });

    it.each(['client-req-123', 'a'.repeat(128), 'A!#$%&*+-.^_`|~0:9/=?[]{}'])(
      'echoes the valid client X-Request-Id %s, on success and on error',
      async (id) => {
        const good = await api.http().get(`${API}/model-configs?limit=1`).set('X-Request-Id', id);
        expect(good.headers['x-request-id']).toBe(id);
        const bad = await api.http().get(`${API}/model-configs/nope`).set('X-Request-Id', id);
        expect(bad.status).toBe(400);
        expect(bad.headers['x-request-id']).toBe(id);
      },
    );

    it.each([
      ['129 characters', 'b'.repeat(129)],
      ['a space', 'has space'],
      ['a tab', 'has\ttab'],
      ['a non-ASCII character', 'caf\u00e9'],
    ])('replaces a client X-Request-Id with %s', async (_label, id) => {
      const res = await rawRequest(app.url, {
        method: 'GET',
        path: `${API}/model-configs?limit=1`,
        headers: { 'x-request-id': id },
      });
      expect(res.status).toBe(200);
      const echoed = String(res.headers['x-request-id']);
      expect(echoed).not.toBe(id);
      expect(echoed).toMatch(/^[\x21-\x7e]{1,128}$/);
    });
  });

  describe('what the HTTP parser refuses', () => {
    it('answers conflicting Content-Length and Transfer-Encoding with 400 (or closes) and never runs a smuggled request', async () => {
      const ut = unique('smuggled');
      const smuggled = validJson(ut);
      const chunk = '0\r\n\r\n';
      const payload =
        `POST ${API}/model-configs/seed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${chunk.length}\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}` +
        `POST ${API}/model-configs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(smuggled)}\r\n\r\n${smuggled}`;
      const answer = await rawSocket(app.url, payload);
      if (answer !== '') {
        expect(answer).toMatch(/^HTTP\/1\.1 400 /);
        expect(answer.match(/HTTP\/1\.1 /g)).toHaveLength(1);
        expect(answer).not.toContain('SELECT');
      }
      expect(await api.ofUsageType(ut)).toEqual([]);
    });

    it('answers headers over 16 KiB with 431 (or closes the connection)', async () => {
      const answer = await rawSocket(
        app.url,
        `GET ${API}/model-configs HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(20 * 1024)}\r\n\r\n`,
      );
      if (answer !== '') expect(answer).toMatch(/^HTTP\/1\.1 (400|431) /);
    });
  });
});
