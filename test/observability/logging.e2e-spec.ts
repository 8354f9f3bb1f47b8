import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import {
  type ServerProcess,
  cleanupServers,
  delay,
  makeTempDir,
  request,
  spawnServer,
  startServer,
  waitForExit,
} from '../process/server-process';

/**
 * Structured logs of the real server process (API.md §4 `LOG_LEVEL`, §2 Errors: internal details
 * go to the log with a request id): JSON lines on stdout, the request id on request lines,
 * credentials and bodies never logged, and the level honoured.
 */

const API_KEY = 'some-secret-key-123';
const BODY_MARKER = 'body-marker-7f3a';

interface LogLine {
  level: string;
  msg: string;
  reqId?: string;
  context?: string;
  req?: { id?: string; method?: string; url?: string; headers?: Record<string, string> };
  res?: { statusCode?: number };
  [key: string]: unknown;
}

/** Every stdout line, parsed; fails on a line that is not a JSON object. */
function logLines(server: ServerProcess): LogLine[] {
  return server
    .stdout()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`Not a JSON log line: ${line}\n${server.output()}`);
      }
    });
}

/** Waits until a line satisfying `predicate` was written (logs are written asynchronously). */
async function waitForLine(
  server: ServerProcess,
  predicate: (line: LogLine) => boolean,
  timeoutMs = 5_000,
): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = logLines(server).find(predicate);
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`No such log line\n${server.output()}`);
    await delay(50);
  }
}

const completion = (reqId: string) => (line: LogLine) =>
  line.reqId === reqId && line.msg === 'request completed';

describe('JSON logs at LOG_LEVEL=info', () => {
  jest.setTimeout(60_000);
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({
      dbPath: join(makeTempDir('mcs-logs-'), 'logs.duckdb'),
      env: { LOG_LEVEL: 'info', API_KEY },
    });
    const url = server.baseUrl;
    const read = await request(url, 'GET', '/api/v1/usage-types/chat_deep/active', undefined, {
      headers: { 'x-request-id': 'trace-abc' },
    });
    expect(read.status).toBe(200);
    expect(read.headers['x-request-id']).toBe('trace-abc');
    // The same URL again: answered from its kept response before Fastify.
    const kept = await request(url, 'GET', '/api/v1/usage-types/chat_deep/active', undefined, {
      headers: { 'x-request-id': 'trace-kept' },
    });
    expect(kept.status).toBe(200);
    expect(kept.headers['x-request-id']).toBe('trace-kept');
    const body = {
      usageType: 'logs-test',
      priority: 1,
      modelId: 'model-1',
      modelName: BODY_MARKER,
      provider: 'test-provider',
    };
    const created = await request(url, 'POST', '/api/v1/model-configs', body, {
      headers: { 'x-request-id': 'trace-create', 'x-api-key': API_KEY },
    });
    expect(created.status).toBe(201);
    const conflict = await request(url, 'POST', '/api/v1/model-configs', body, {
      headers: { 'x-request-id': 'trace-conflict', authorization: `Bearer ${API_KEY}` },
    });
    expect(conflict.status).toBe(409);
    const denied = await request(url, 'POST', '/api/v1/model-configs', body, {
      headers: { 'x-request-id': 'trace-denied', cookie: `session=${API_KEY}` },
    });
    expect(denied.status).toBe(401);
    // A key in the query string is ignored by the API, and must not be logged either.
    const query = await request(url, 'GET', `/api/v1/model-configs?limit=1&api_key=${API_KEY}`);
    expect(query.status).toBe(400);
    await waitForLine(server, completion('trace-denied'));
    await waitForLine(server, (line) => line.res?.statusCode === 400);
  });

  afterAll(async () => {
    await cleanupServers();
  });

  it('writes only JSON lines to stdout, startup included', () => {
    const lines = logLines(server);
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      expect(typeof line.level).toBe('string');
      expect(typeof line.msg).toBe('string');
      expect(typeof line.time).toBe('string');
    }
    expect(lines.some((line) => line.msg.startsWith('Serving on http://127.0.0.1:'))).toBe(true);
  });

  it('puts the request id (X-Request-Id) on the request lines', () => {
    const line = logLines(server).find(completion('trace-abc'));
    expect(line).toMatchObject({
      level: 'INFO',
      reqId: 'trace-abc',
      req: { id: 'trace-abc', method: 'GET', url: '/api/v1/usage-types/chat_deep/active' },
      res: { statusCode: 200 },
    });
    expect(logLines(server).find(completion('trace-create'))).toMatchObject({
      level: 'INFO',
      res: { statusCode: 201 },
    });
  });

  it('logs a read answered from its kept response (before Fastify) with the same line', () => {
    const first = logLines(server).find(completion('trace-abc'));
    const kept = logLines(server).find(completion('trace-kept'));
    expect(kept).toMatchObject({
      level: 'INFO',
      reqId: 'trace-kept',
      req: { id: 'trace-kept', method: 'GET', url: '/api/v1/usage-types/chat_deep/active' },
      res: { statusCode: 200 },
    });
    expect(typeof kept?.responseTime).toBe('number');
    // The same fields as the line Fastify's hook wrote for the first read.
    expect(Object.keys(kept ?? {}).sort()).toEqual(Object.keys(first ?? {}).sort());
    expect(Object.keys(kept?.req ?? {}).sort()).toEqual(Object.keys(first?.req ?? {}).sort());
  });

  it('logs a client error with its request id', () => {
    expect(logLines(server).find(completion('trace-conflict'))).toMatchObject({
      level: 'WARN',
      req: { method: 'POST', url: '/api/v1/model-configs' },
      res: { statusCode: 409 },
    });
  });

  it('never logs the API key, in any header or the query string', () => {
    const output = server.output();
    expect(output).not.toContain(API_KEY);
    const create = logLines(server).find(completion('trace-create'));
    expect(create?.req?.headers?.['x-api-key']).toBe('[REDACTED]');
    const conflict = logLines(server).find(completion('trace-conflict'));
    expect(conflict?.req?.headers?.authorization).toBe('[REDACTED]');
    const denied = logLines(server).find(completion('trace-denied'));
    expect(denied?.req?.headers?.cookie).toBe('[REDACTED]');
    expect(output).toContain('api_key=[REDACTED]');
  });

  it('never logs request bodies', () => {
    expect(server.output()).not.toContain(BODY_MARKER);
  });

  it('logs health probes below info', () => {
    // startServer polled /health/live until it answered.
    expect(logLines(server).some((line) => line.req?.url === '/health/live')).toBe(false);
  });
});

describe('LOG_LEVEL=warn', () => {
  jest.setTimeout(60_000);

  afterAll(async () => {
    await cleanupServers();
  });

  it('suppresses info lines and keeps warnings', async () => {
    const server = await startServer({
      dbPath: join(makeTempDir('mcs-logs-'), 'warn.duckdb'),
      env: { LOG_LEVEL: 'warn', API_KEY: undefined },
    });
    const read = await request(server.baseUrl, 'GET', '/api/v1/usage-types/chat_deep/active');
    expect(read.status).toBe(200);
    const missing = await request(server.baseUrl, 'GET', '/no/such/route', undefined, {
      headers: { 'x-request-id': 'trace-missing' },
    });
    expect(missing.status).toBe(404);
    await waitForLine(server, completion('trace-missing'));
    const lines = logLines(server);
    expect(lines.filter((line) => !['WARN', 'ERROR', 'FATAL'].includes(line.level))).toEqual([]);
    // The startup warning about the open API, and the 404.
    expect(lines.some((line) => line.level === 'WARN' && line.msg.includes('API_KEY'))).toBe(true);
    expect(lines.find(completion('trace-missing'))).toMatchObject({ res: { statusCode: 404 } });
  });
});

describe('startup failures', () => {
  jest.setTimeout(60_000);

  afterAll(async () => {
    await cleanupServers();
  });

  it('print "Startup failed: <message>" on stderr before the logger exists', async () => {
    // A directory where the database file should be: DuckDB fails while the modules are created.
    const server = await spawnServer({ dbPath: makeTempDir('mcs-logs-') });
    const exit = await waitForExit(server, 30_000);
    expect(exit?.code).toBe(1);
    expect(server.stderr()).toMatch(/^Startup failed: Cannot open the DuckDB database/m);
  });

  it('print "Startup failed: <message>" on stderr once the logger exists, JSON on stdout', async () => {
    // The port is taken: listening fails after the JSON logger took over.
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blocker.address() as AddressInfo;
      const server = await spawnServer({
        dbPath: join(makeTempDir('mcs-logs-'), 'taken.duckdb'),
        port,
      });
      const exit = await waitForExit(server, 30_000);
      expect(exit?.code).toBe(1);
      expect(server.stderr()).toMatch(/^Startup failed: .*EADDRINUSE/m);
      expect(logLines(server).some((line) => line.context === 'DuckDb')).toBe(true);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
