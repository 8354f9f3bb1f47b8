import request from 'supertest';
import { API, configBody, unique } from '../support/http';
import { type TestApp, startTestApp } from '../support/test-app';
import { type PromSample, parsePrometheus, samplesOf, valueOf } from './prometheus';

/**
 * `GET /metrics` (API.md §3): Prometheus text with HTTP counts and durations by route pattern,
 * the DuckDB pool and transaction counters, the query cache's counters and Node.js metrics.
 */

const ACTIVE_ROUTE = `${API}/usage-types/:usageType/active`;
const CONFIGS_ROUTE = `${API}/model-configs`;
const CONFIG_ROUTE = `${API}/model-configs/:id`;

async function scrape(url: string): Promise<{ text: string; samples: PromSample[] }> {
  const res = await request(url).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  expect(res.headers['x-request-id']).toEqual(expect.any(String));
  return { text: res.text, samples: parsePrometheus(res.text) };
}

describe('GET /metrics after a known sequence of requests', () => {
  jest.setTimeout(60_000);
  let app: TestApp;
  let samples: PromSample[];
  let text: string;
  const missingId = '00000000-0000-4000-8000-000000000000';

  beforeAll(async () => {
    app = await startTestApp();
    const http = () => request(app.url);
    // chat_deep is seeded on the empty database.
    for (let i = 0; i < 3; i++) {
      expect((await http().get(`${API}/usage-types/chat_deep/active`)).status).toBe(200);
    }
    const body = configBody(unique('metrics'));
    expect((await http().post(`${API}/model-configs`).send(body)).status).toBe(201);
    expect((await http().post(`${API}/model-configs`).send(body)).status).toBe(409);
    expect((await http().get(`${API}/model-configs/${missingId}`)).status).toBe(404);
    expect((await http().get('/no/such/route')).status).toBe(404);
    ({ text, samples } = await scrape(app.url));
  });

  afterAll(() => app?.close());

  const requests = (route: string, method: string, status: number) =>
    valueOf(samples, 'http_requests_total', { method, route, status_code: String(status) });
  const durations = (route: string, method: string, status: number) =>
    valueOf(samples, 'http_request_duration_seconds_count', {
      method,
      route,
      status_code: String(status),
    });

  it('counts requests by method, route pattern and status', () => {
    expect(requests(ACTIVE_ROUTE, 'GET', 200)).toBe(3);
    expect(requests(CONFIGS_ROUTE, 'POST', 201)).toBe(1);
    expect(requests(CONFIGS_ROUTE, 'POST', 409)).toBe(1);
    expect(requests(CONFIG_ROUTE, 'GET', 404)).toBe(1);
    expect(requests('unmatched', 'GET', 404)).toBe(1);
    // Exactly these: nothing else was requested before the scrape, which is counted after it.
    const total = samplesOf(samples, 'http_requests_total').reduce((sum, s) => sum + s.value, 0);
    expect(total).toBe(7);
  });

  it('labels routes by pattern, never by raw URL', () => {
    const routes = new Set(samplesOf(samples, 'http_requests_total').map((s) => s.labels.route));
    expect([...routes].sort()).toEqual(
      [ACTIVE_ROUTE, CONFIGS_ROUTE, CONFIG_ROUTE, 'unmatched'].sort(),
    );
    expect(text).not.toContain('chat_deep');
    expect(text).not.toContain(missingId);
    expect(text).not.toContain('/no/such/route');
  });

  it('records one duration per request in the histogram', () => {
    expect(durations(ACTIVE_ROUTE, 'GET', 200)).toBe(3);
    expect(durations(CONFIGS_ROUTE, 'POST', 201)).toBe(1);
    expect(durations(CONFIGS_ROUTE, 'POST', 409)).toBe(1);
    expect(durations('unmatched', 'GET', 404)).toBe(1);
    const inf = valueOf(samples, 'http_request_duration_seconds_bucket', {
      method: 'GET',
      route: ACTIVE_ROUTE,
      status_code: '200',
      le: '+Inf',
    });
    expect(inf).toBe(3);
    const sum = valueOf(samples, 'http_request_duration_seconds_sum', {
      method: 'GET',
      route: ACTIVE_ROUTE,
      status_code: '200',
    });
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(30);
  });

  it('reports the pool', () => {
    const size = valueOf(samples, 'duckdb_pool_size') ?? -1;
    const idle = valueOf(samples, 'duckdb_pool_connections', { state: 'idle' });
    const inUse = valueOf(samples, 'duckdb_pool_connections', { state: 'in_use' });
    expect(size).toBeGreaterThanOrEqual(1);
    expect(size).toBeLessThanOrEqual(valueOf(samples, 'duckdb_pool_max') ?? 0);
    expect((idle ?? NaN) + (inUse ?? NaN)).toBe(size);
    expect(valueOf(samples, 'duckdb_pool_waiting')).toBe(0);
    expect(valueOf(samples, 'duckdb_pool_timeouts_total')).toBe(0);
    expect(valueOf(samples, 'duckdb_pool_created_total')).toBeGreaterThanOrEqual(size);
    // Every database read and write borrowed a connection (the cache hits did not).
    expect(valueOf(samples, 'duckdb_pool_acquired_total')).toBeGreaterThanOrEqual(3);
    expect(text).toContain('# TYPE duckdb_pool_acquired_total counter');
  });

  it('reports transactions', () => {
    expect(
      valueOf(samples, 'duckdb_transactions_total', { outcome: 'committed' }),
    ).toBeGreaterThanOrEqual(1);
    // The 409 rolled its transaction back.
    expect(
      valueOf(samples, 'duckdb_transactions_total', { outcome: 'rolled_back' }),
    ).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, 'duckdb_transaction_retries_total')).toBe(0);
    expect(valueOf(samples, 'duckdb_transaction_conflicts_total')).toBe(0);
    expect(valueOf(samples, 'duckdb_transaction_timeouts_total')).toBe(0);
  });

  it('reports the query cache', () => {
    expect(valueOf(samples, 'query_cache_hits_total')).toBeGreaterThanOrEqual(2);
    expect(valueOf(samples, 'query_cache_misses_total')).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, 'query_cache_errors_total')).toBe(0);
    expect(valueOf(samples, 'query_cache_bypassed_total')).toBe(0);
    expect(valueOf(samples, 'query_cache_connected')).toBe(1);
  });

  it('reports the response cache: the first GET of active was rendered and kept, two reused it', () => {
    expect(valueOf(samples, 'response_cache_misses_total')).toBe(2); // active once, the 404 once
    expect(valueOf(samples, 'response_cache_stored_total')).toBe(1);
    expect(valueOf(samples, 'response_cache_hits_total')).toBe(2);
    // Both answered by the server's listener before Fastify, and still counted per route above.
    expect(valueOf(samples, 'response_cache_early_hits_total')).toBe(2);
    expect(valueOf(samples, 'response_cache_entries')).toBe(1);
  });

  it('includes Node.js and process metrics', () => {
    expect(valueOf(samples, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(valueOf(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('counts scrapes like any other request, and keeps counting', async () => {
    const again = (await scrape(app.url)).samples;
    expect(valueOf(again, 'http_requests_total', { route: '/metrics', status_code: '200' })).toBe(
      1,
    );
    expect(valueOf(again, 'http_requests_total', { route: ACTIVE_ROUTE, status_code: '200' })).toBe(
      3,
    );
  });

  it('is not part of the OpenAPI document', async () => {
    const res = await request(app.url).get('/docs-json');
    expect(res.status).toBe(200);
    expect(Object.keys((res.body as { paths: object }).paths)).not.toContain('/metrics');
  });
});

describe('GET /metrics is an operations endpoint', () => {
  jest.setTimeout(60_000);
  let app: TestApp;
  let other: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ API_KEY: 'some-secret-key-123', RATE_LIMIT_PER_MINUTE: '2' });
    other = await startTestApp();
  });

  afterAll(async () => {
    await app?.close();
    await other?.close();
  });

  it('needs no API key and is never rate limited', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await request(app.url).get('/metrics');
      expect(res.status).toBe(200);
      expect(res.text).toContain('http_requests_total');
    }
  });

  it('keeps a separate registry per application in one process', async () => {
    for (let i = 0; i < 2; i++) {
      expect((await request(other.url).get('/health/live')).status).toBe(200);
    }
    // This application served only the scrapes above; the other one only its probes.
    const { samples } = await scrape(app.url);
    const total = samplesOf(samples, 'http_requests_total').reduce((sum, s) => sum + s.value, 0);
    expect(total).toBe(5);
    const probes = (await scrape(other.url)).samples;
    expect(valueOf(probes, 'http_requests_total', { route: '/health/live' })).toBe(2);
    expect(valueOf(probes, 'http_requests_total', { route: '/metrics' })).toBeUndefined();
  });
});
