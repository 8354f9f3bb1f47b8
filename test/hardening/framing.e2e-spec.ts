import { type Socket, connect } from 'node:net';
import { ApiClient } from '../support/api';
import { API, configBody, expectValidation, ok, unique } from '../support/http';
import { type TestApp, startTestApp } from '../support/test-app';

const KEY = 'framing-key-0123456';

/** What a raw connection saw: every byte the server sent, and whether (and when) it closed. */
interface Exchange {
  received: string;
  /** Milliseconds from connect until the server closed the connection, or `undefined`. */
  closedAfterMs?: number;
}

/**
 * Opens a TCP connection, writes each part in turn (waiting `gapMs` between parts), and reports
 * everything the server sent until it closed the connection or `waitMs` passed.
 */
function exchange(url: string, parts: string[], waitMs = 3000, gapMs = 150): Promise<Exchange> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket: Socket = connect(Number(port), hostname);
    let received = '';
    let closedAfterMs: number | undefined;
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('end', () => (closedAfterMs ??= Date.now() - started));
    socket.on('close', () => {
      clearTimeout(timer);
      if (closedAfterMs === undefined && Date.now() - started < waitMs - 50) {
        closedAfterMs = Date.now() - started;
      }
      resolve({ received, closedAfterMs });
    });
    void (async () => {
      for (const [i, part] of parts.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
        if (socket.destroyed) return;
        socket.write(part);
      }
    })();
  });
}

/** The status lines of every response in a raw exchange. */
const statusLines = (text: string) => text.match(/HTTP\/1\.1 \d{3} [^\r\n]*/g) ?? [];

describe('framing: one answer, then the connection is closed', () => {
  let app: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    app = await startTestApp({ API_KEY: KEY });
    api = new ApiClient(app.url, { 'X-API-Key': KEY });
  });

  afterAll(async () => {
    await app?.close();
  });

  /** A create request for `usageType`, complete with its body, to smuggle after another request. */
  const smuggledCreate = (usageType: string) => {
    const body = JSON.stringify(configBody(usageType));
    return (
      `POST ${API}/model-configs HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    );
  };
  const head = (lines: string[]) =>
    `POST ${API}/model-configs/seed HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY}\r\n${lines.join('\r\n')}\r\n\r\n`;

  const variants: [string, (smuggled: string) => string[]][] = [
    [
      'CL.TE (Content-Length and chunked)',
      (s) => [
        head([
          'Content-Type: application/json',
          'Content-Length: 5',
          'Transfer-Encoding: chunked',
        ]) + `0\r\n\r\n${s}`,
      ],
    ],
    [
      'TE.CL (chunked, then Content-Length)',
      (s) => [
        head([
          'Content-Type: application/json',
          'Transfer-Encoding: chunked',
          'Content-Length: 4',
        ]) + `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n0\r\n\r\n`,
      ],
    ],
    [
      'two Content-Lengths',
      (s) => [
        head(['Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 9']) +
          `{}${s}`,
      ],
    ],
    [
      'obfuscated Transfer-Encoding (xchunked)',
      (s) => [
        head(['Content-Type: application/json', 'Transfer-Encoding: xchunked']) + `0\r\n\r\n${s}`,
      ],
    ],
    [
      'obfuscated Transfer-Encoding (space before the colon)',
      (s) => [
        head(['Content-Type: application/json', 'Transfer-Encoding : chunked']) + `0\r\n\r\n${s}`,
      ],
    ],
    [
      'obfuscated Transfer-Encoding (chunked, identity)',
      (s) => [
        head(['Content-Type: application/json', 'Transfer-Encoding: chunked, identity']) +
          `0\r\n\r\n${s}`,
      ],
    ],
    [
      'obfuscated Transfer-Encoding (a second, empty header)',
      (s) => [
        head([
          'Content-Type: application/json',
          'Transfer-Encoding: chunked',
          'Transfer-Encoding: ',
        ]) + `0\r\n\r\n${s}`,
      ],
    ],
    [
      'chunk-size overflow, answered 415 before the body was read',
      (s) => [
        head(['Transfer-Encoding: chunked']) + `10000000000000000000000\r\nabc\r\n0\r\n\r\n${s}`,
      ],
    ],
    [
      'chunk-size overflow with a JSON content type',
      (s) => [
        head(['Content-Type: application/json', 'Transfer-Encoding: chunked']) +
          `fffffffffffffffffffffff\r\n{}\r\n0\r\n\r\n${s}`,
      ],
    ],
    [
      'a 415 while the body is still arriving, then the rest and a second request',
      (s) => [head(['Content-Type: text/plain', 'Content-Length: 10']) + 'hello', `world${s}`],
    ],
    [
      'a 415 for a chunked body still arriving, then a second request',
      (s) => [
        head(['Content-Type: text/plain', 'Transfer-Encoding: chunked']) + '5\r\nhello\r\n',
        `0\r\n\r\n${s}`,
      ],
    ],
    [
      'a 413 announced by Content-Length, then the body and a second request',
      (s) => [
        head(['Content-Type: application/json', `Content-Length: ${2 * 1024 * 1024}`]),
        `{}${s}`,
      ],
    ],
  ];

  it.each(variants)('%s', async (_name, build) => {
    const ut = unique('smuggled');
    const { received, closedAfterMs } = await exchange(app.url, build(smuggledCreate(ut)));
    const statuses = statusLines(received);
    // At most one answer, never a 2xx for the framing trick, and the server closed the socket.
    expect(statuses.length).toBeLessThanOrEqual(1);
    if (statuses.length === 1) {
      expect(statuses[0]).toMatch(/^HTTP\/1\.1 4\d\d /);
      expect(received).toMatch(/\r\nconnection: close\r\n/i);
      expect(received).not.toMatch(/SELECT|at \w+ \(|\/work\//);
    }
    expect(closedAfterMs).toBeDefined();
    // The smuggled request was never executed.
    expect(await api.ofUsageType(ut)).toEqual([]);
  });

  it('still serves two pipelined requests on one keep-alive connection', async () => {
    const get = `GET ${API}/usage-types HTTP/1.1\r\nHost: x\r\n\r\n`;
    const { received } = await exchange(app.url, [get + get], 1500);
    expect(statusLines(received)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    expect(received).not.toMatch(/connection: close/i);
  });

  it('keeps the connection open after an error answered once the whole body was read', async () => {
    const body = JSON.stringify({ usageType: 'BAD' });
    const bad =
      `POST ${API}/model-configs HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const get = `GET ${API}/usage-types HTTP/1.1\r\nHost: x\r\n\r\n`;
    const { received } = await exchange(app.url, [bad, get], 1500);
    expect(statusLines(received)).toEqual(['HTTP/1.1 400 Bad Request', 'HTTP/1.1 200 OK']);
  });
});

describe('a stalled request body', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ API_KEY: KEY });
  });

  afterAll(async () => {
    await app?.close();
  });

  const stalled = (framing: string, start: string) =>
    `POST ${API}/model-configs HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY}\r\n` +
    `Content-Type: application/json\r\n${framing}\r\n\r\n${start}`;

  it('is answered 408 and closed within 15 s (default HTTP_REQUEST_TIMEOUT_MS), while others are served', async () => {
    const contentLength = exchange(
      app.url,
      [stalled('Content-Length: 1000', '{"usageType"')],
      20_000,
    );
    const chunked = exchange(
      app.url,
      [stalled('Transfer-Encoding: chunked', 'c\r\n{"usageType"\r\n')],
      20_000,
    );
    // Other clients are served normally meanwhile.
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${app.url}${API}/usage-types`);
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const { received, closedAfterMs } of await Promise.all([contentLength, chunked])) {
      expect(closedAfterMs).toBeDefined();
      expect(closedAfterMs).toBeLessThan(15_000);
      expect(closedAfterMs).toBeGreaterThanOrEqual(9_000);
      expect(statusLines(received)).toEqual(['HTTP/1.1 408 Request Timeout']);
      expect(received).toMatch(/"code":"REQUEST_TIMEOUT"/);
      expect(received).toMatch(/\r\nConnection: close\r\n/i);
    }
  }, 30_000);
});

describe('HTTP_REQUEST_TIMEOUT_MS', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ HTTP_REQUEST_TIMEOUT_MS: '1500' });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('bounds the time to receive a request', async () => {
    const { received, closedAfterMs } = await exchange(
      app.url,
      [
        `POST ${API}/model-configs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{`,
      ],
      8000,
    );
    expect(statusLines(received)).toEqual(['HTTP/1.1 408 Request Timeout']);
    expect(closedAfterMs).toBeGreaterThanOrEqual(1400);
    expect(closedAfterMs).toBeLessThan(4000);
  });

  it('leaves a slow but steady client alone within the bound', async () => {
    const body = JSON.stringify(configBody(unique('slow')));
    const { received } = await exchange(
      app.url,
      [
        `POST ${API}/model-configs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
        body.slice(0, 10),
        body.slice(10),
      ],
      3000,
      300,
    );
    expect(statusLines(received)).toEqual(['HTTP/1.1 201 Created']);
  });
});

describe('body limits name the field', () => {
  let app: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    app = await startTestApp();
    api = new ApiClient(app.url);
  });

  afterAll(async () => {
    await app?.close();
  });

  const post = (path: string, text: string) =>
    api.http().post(`${API}${path}`).set('Content-Type', 'application/json').send(text);
  const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  const wide = (members: number) =>
    `{${Array.from({ length: members }, (_, i) => `"k${i}":0`).join(',')}}`;
  const create = (ut: string, parameters: string) =>
    `{"usageType":"${ut}","priority":1,"modelId":"m","modelName":"m","provider":"p","parameters":${parameters}}`;

  it('names parameters when it nests too deeply (400 from the parser, before any object is built)', async () => {
    const ut = unique('limits');
    const res = await post('/model-configs', create(ut, nested(100)));
    expect(expectValidation(res, 'parameters')).toEqual(['parameters nests deeper than 64 levels']);
    // 40 levels pass the parser and are refused by the parameters rule (32), naming it too.
    expectValidation(await post('/model-configs', create(ut, nested(40))), 'parameters');
    expect(await api.ofUsageType(ut)).toEqual([]);
  });

  it('names parameters when it has too many members', async () => {
    const ut = unique('limits');
    expect(
      expectValidation(await post('/model-configs', create(ut, wide(5000))), 'parameters'),
    ).toEqual(['parameters has more than 4096 members']);
    expect(
      expectValidation(
        await post('/model-configs', create(ut, `{"x":${wide(5000)}}`)),
        'parameters',
      ),
    ).toEqual(['parameters has more than 4096 members']);
  });

  it('names the item and field inside bulk and chain bodies', async () => {
    const ut = unique('limits');
    const item = (parameters: string) =>
      `{"usageType":"${ut}","priority":2,"modelId":"m","modelName":"m","provider":"p","parameters":${parameters}}`;
    expect(
      expectValidation(
        await post('/model-configs/bulk', `{"items":[${item('{}')},${item(nested(80))}]}`),
        'items.1.parameters',
      ),
    ).toEqual(['items.1.parameters nests deeper than 64 levels']);
    const chain = await api
      .http()
      .put(`${API}/usage-types/${ut}/chain`)
      .set('Content-Type', 'application/json')
      .send(
        `{"items":[{"modelId":"m","modelName":"m","provider":"p","parameters":${wide(4100)}}]}`,
      );
    expect(expectValidation(chain, 'items.0.parameters')).toEqual([
      'items.0.parameters has more than 4096 members',
    ]);
    expect(await api.ofUsageType(ut)).toEqual([]);
  });

  it('names the top-level field or the body itself outside parameters', async () => {
    expect(
      expectValidation(await post('/model-configs', `{"extra":${nested(70)}}`), 'extra'),
    ).toEqual(['extra nests deeper than 64 levels']);
    expect(expectValidation(await post('/model-configs', wide(4097)), 'body')).toEqual([
      'body has more than 4096 members',
    ]);
    // Keys with escapes are named as they read.
    expect(
      expectValidation(await post('/model-configs', `{"a\\"b":${nested(70)}}`), 'a"b'),
    ).toEqual(['a"b nests deeper than 64 levels']);
    ok(await api.http().get(`${API}/usage-types`));
  });
});
