import { join } from 'node:path';
import {
  type ServerProcess,
  canConnect,
  cleanupServers,
  delay,
  freePort,
  makeTempDir,
  request,
  spawnServer,
  startServer,
  waitForExit,
} from './server-process';

/**
 * Configuration (API.md §4): a malformed variable stops startup before the server listens, with
 * a message on stderr naming the variable; a missing API_KEY is warned about; a second process on
 * the same database file fails cleanly without harming the first.
 */

/** Longest time a refused startup may take (ts-node compiles the app from source first). */
const REFUSAL_DEADLINE_MS = 20_000;

interface Refusal {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  connections: number;
  stderr: string;
  output: string;
}

/**
 * Probes the port every 25 ms while the process runs (and once after): every accepted connection
 * is counted.
 */
async function watchRefusal(server: ServerProcess, probePort: number): Promise<Refusal> {
  const started = Date.now();
  let connections = 0;
  let exited = false;
  void server.exited.then(() => (exited = true));
  while (!exited && Date.now() - started < REFUSAL_DEADLINE_MS + 5_000) {
    if (await canConnect(probePort)) connections++;
    await delay(25);
  }
  const exit = await waitForExit(server, 1_000);
  const ms = Date.now() - started;
  if (await canConnect(probePort)) connections++;
  return {
    code: exit?.code ?? null,
    signal: exit?.signal ?? null,
    ms,
    connections,
    stderr: server.stderr(),
    output: server.output(),
  };
}

describe('configuration refused at startup (API.md §4)', () => {
  jest.setTimeout(60_000);

  afterAll(async () => {
    await cleanupServers();
  });

  const cases: [string, Record<string, string>][] = [
    ['DUCKDB_POOL_MAX', { DUCKDB_POOL_MAX: 'abc' }],
    ['DUCKDB_POOL_MIN', { DUCKDB_POOL_MIN: '5', DUCKDB_POOL_MAX: '2' }],
    ['PORT', { PORT: '99999' }],
    ['CACHE_STORE', { CACHE_STORE: 'disk' }],
    ['CACHE_RESPONSE_ENTRIES', { CACHE_RESPONSE_ENTRIES: '-1' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['DUCKDB_POOL_ENABLED', { DUCKDB_POOL_ENABLED: 'maybe' }],
    ['REDIS_URL', { REDIS_URL: 'notaurl' }],
    // DuckDB itself refuses a percentage ("Failed to set config", naming nothing).
    ['DUCKDB_MEMORY_LIMIT', { DUCKDB_MEMORY_LIMIT: '80%' }],
    ['DUCKDB_MEMORY_LIMIT', { DUCKDB_MEMORY_LIMIT: 'lots' }],
    // Accepted by DuckDB, but too small to run the migrations and queries.
    ['DUCKDB_MEMORY_LIMIT', { DUCKDB_MEMORY_LIMIT: '1MB' }],
  ];

  it.each(cases)('%s malformed: exits non-zero before listening, naming it', async (name, env) => {
    const dir = makeTempDir();
    const probePort = await freePort();
    // With PORT itself malformed there is no port to probe: the absence of "Serving on" in the
    // output shows that it did not listen elsewhere.
    const port = name === 'PORT' ? undefined : probePort;
    const server = await spawnServer({
      dbPath: join(dir, 'config.duckdb'),
      port,
      env,
    });
    const result = await watchRefusal(server, probePort);
    process.stdout.write(
      `${name}=${JSON.stringify(env)}: exit ${result.code} after ${result.ms} ms, ` +
        `${result.connections} connections accepted, stderr: ${result.stderr.trim()}\n`,
    );
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 1, signal: null });
    expect(result.ms).toBeLessThan(REFUSAL_DEADLINE_MS);
    expect(result.stderr).toContain(name);
    expect(result.connections).toBe(0);
    expect(result.output).not.toContain('Serving on');
  });

  it('starts with DUCKDB_MEMORY_LIMIT=64MiB and serves a write and a read', async () => {
    const server = await startServer({
      dbPath: join(makeTempDir(), 'memory-limit.duckdb'),
      env: { DUCKDB_MEMORY_LIMIT: '64MiB', LOG_LEVEL: 'warn' },
    });
    const write = await request(server.baseUrl, 'POST', '/api/v1/model-configs', {
      usageType: 'memory-limit',
      priority: 1,
      modelId: 'small',
      modelName: 'Small',
      provider: 'ollama',
    });
    expect(write.status).toBe(201);
    const read = await request(server.baseUrl, 'GET', '/api/v1/usage-types/memory-limit/active');
    expect((read.body as { modelId: string }).modelId).toBe('small');
  });

  it('warns at startup, naming API_KEY, when API_KEY is unset', async () => {
    const server = await startServer({
      dbPath: join(makeTempDir(), 'nokey.duckdb'),
      env: { API_KEY: undefined, LOG_LEVEL: 'warn' },
    });
    const warning = server
      .output()
      .split('\n')
      .find((line) => line.includes('API_KEY'));
    expect(warning).toMatch(/WARN/);
    process.stdout.write(`API_KEY warning: ${warning?.trim()}\n`);
  });
});

describe('a second process on the same database file', () => {
  jest.setTimeout(60_000);

  afterAll(async () => {
    await cleanupServers();
  });

  it('fails to start with a message about the lock, and the first keeps serving', async () => {
    const dbPath = join(makeTempDir(), 'locked.duckdb');
    const first = await startServer({ dbPath });
    const secondPort = await freePort();
    const second = await spawnServer({ dbPath, port: secondPort });
    const result = await watchRefusal(second, secondPort);
    process.stdout.write(
      `second process: exit ${result.code} after ${result.ms} ms, stderr: ${result.stderr.trim()}\n`,
    );
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.stderr).toMatch(/lock/i);
    expect(result.stderr).toMatch(/DUCKDB_PATH|another process/i);
    expect(result.connections).toBe(0);

    // The first process is untouched: alive, healthy, and still writing.
    expect(first.exit()).toBeUndefined();
    expect((await request(first.baseUrl, 'GET', '/health/live')).status).toBe(200);
    expect((await request(first.baseUrl, 'GET', '/health')).status).toBe(200);
    const write = await request(first.baseUrl, 'POST', '/api/v1/model-configs', {
      usageType: 'after-lock',
      priority: 1,
      modelId: 'still-here',
      modelName: 'Still here',
      provider: 'ollama',
    });
    expect(write.status).toBe(201);
    const read = await request(first.baseUrl, 'GET', `/api/v1/usage-types/after-lock/active`);
    expect((read.body as { modelId: string }).modelId).toBe('still-here');
  });
});
