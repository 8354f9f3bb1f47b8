import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DuckDbPool } from '@lib/duckdb';
import { ResiliencePolicies, DATABASE_CIRCUIT } from '@lib/resilience';
import { API, type ConfigPage, configBody, expectError, ok, unique } from '../support/http';
import { type TestApp, startTestApp } from '../support/test-app';
import { sleep } from '../support/testing';

jest.setTimeout(15_000);

const RESET_MS = 1_000;
/** A rejected request must not wait on the database: far below any query or retry delay. */
const FAST_MS = 500;

interface CircuitItem {
  name: string;
  state: 'closed' | 'open' | 'half-open';
  failures: number;
  successes: number;
  rejected: number;
  openedAt: string | null;
}

interface HealthBody {
  status: string;
  info?: Record<string, { status: string }>;
  error?: Record<string, { status: string; message?: string }>;
  details: Record<string, { status: string }>;
}

interface Sample {
  status: number;
  code?: string;
  retryAfter?: string;
  ms: number;
  driverCalls: number;
}

/**
 * A database outage injected under the real application (every statement fails with
 * `IO Error: …` before reaching DuckDB): the `database` circuit opens after 5 failures, the
 * service fails fast with 503 without touching the driver, reports itself unready, and recovers
 * on its own once the fault is gone — no restart.
 */
describe('database outage: the database circuit (fault injection)', () => {
  let testApp: TestApp;
  let pool: DuckDbPool;
  let policies: ResiliencePolicies;
  /** Statements the injector saw (each would have reached the driver). */
  let driverCalls = 0;
  /** The statements the injector saw, most recent last (at most 20). */
  const seen: string[] = [];
  let faulty = false;
  let openedAtMs = 0;
  const outageUsageType = unique('outage');
  const figures: Record<string, unknown> = {};

  const http = () => request(testApp.url);

  const circuit = async (): Promise<CircuitItem> => {
    const res = await http().get('/health/circuits');
    const body = ok<{ circuits: CircuitItem[] }>(res);
    const database = body.circuits.find((c) => c.name === DATABASE_CIRCUIT);
    if (!database) throw new Error(`no database circuit in ${res.text}`);
    return database;
  };

  /** A read of a config nobody cached: it must go to the database. */
  const coldRead = async (): Promise<Sample> => {
    const started = performance.now();
    const res = await http().get(`${API}/model-configs/${randomUUID()}`);
    const ms = performance.now() - started;
    const sample: Sample = { status: res.status, ms, driverCalls };
    if (res.status >= 400) {
      sample.code = (res.body as { code?: string }).code;
      sample.retryAfter = res.headers['retry-after'] as string | undefined;
    }
    return sample;
  };

  beforeAll(async () => {
    testApp = await startTestApp({
      BREAKER_RESET_TIMEOUT_MS: String(RESET_MS),
      BREAKER_FAILURE_THRESHOLD: '5',
      RETRY_BASE_DELAY_MS: '5',
      RETRY_MAX_DELAY_MS: '20',
    });
    pool = testApp.app.get(DuckDbPool);
    policies = testApp.app.get(ResiliencePolicies);
    pool.setFaultInjector((sql) => {
      driverCalls++;
      seen.push(sql.replace(/\s+/g, ' ').slice(0, 40));
      if (seen.length > 20) seen.shift();
      return faulty ? new Error('IO Error: injected fault') : undefined;
    });
  });

  afterAll(async () => {
    pool?.setFaultInjector(undefined);
    await testApp?.close();
    // Printed for the report: how the outage looked from outside.
    process.stdout.write(`fault-injection figures: ${JSON.stringify(figures)}\n`);
  });

  it('starts healthy with the database circuit closed', async () => {
    ok(await http().get('/health'));
    expect(await circuit()).toMatchObject({ state: 'closed', failures: 0, openedAt: null });
    expect((await coldRead()).status).toBe(404);
    expect(driverCalls).toBeGreaterThan(0);
  });

  it('opens the circuit after 5 failed statements, answering 503 DATABASE_UNAVAILABLE meanwhile', async () => {
    faulty = true;
    driverCalls = 0;
    const samples: Sample[] = [];
    while (policies.get(DATABASE_CIRCUIT).state !== 'open' && samples.length < 20) {
      samples.push(await coldRead());
    }
    openedAtMs = performance.now();
    figures.requestsUntilOpen = samples.length;
    figures.driverCallsUntilOpen = driverCalls;
    expect(policies.get(DATABASE_CIRCUIT).state).toBe('open');
    for (const sample of samples) {
      expect(sample).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });
      expect(sample.retryAfter).toMatch(/^[1-9]\d*$/);
    }
    // Each failed statement counted once: the 5th opened it, nothing reached the driver after.
    expect(driverCalls).toBe(5);
  });

  it('then answers every read 503 with Retry-After at once, with no call reaching the driver', async () => {
    const before = driverCalls;
    const samples: Sample[] = [];
    for (let i = 0; i < 30; i++) samples.push(await coldRead());
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => coldRead()));
    samples.push(...concurrent);
    for (const sample of samples) {
      expect(sample).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });
      expect(Number(sample.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(sample.retryAfter)).toBeLessThanOrEqual(Math.ceil(RESET_MS / 1000));
    }
    const latencies = samples.map((s) => s.ms).sort((a, b) => a - b);
    figures.rejectedRequests = samples.length;
    figures.rejectedMedianMs = Math.round(latencies[Math.floor(latencies.length / 2)] * 10) / 10;
    figures.rejectedMaxMs = Math.round(latencies[latencies.length - 1] * 10) / 10;
    figures.retryAfter = [...new Set(samples.map((s) => s.retryAfter))];
    expect(latencies[latencies.length - 1]).toBeLessThan(FAST_MS);
    expect(driverCalls).toBe(before);
    // The standard error body, no internals.
    expectError(
      await http().get(`${API}/model-configs/${randomUUID()}`),
      503,
      'DATABASE_UNAVAILABLE',
    );
    expect(policies.get(DATABASE_CIRCUIT).info().rejected).toBeGreaterThanOrEqual(51);
  });

  it('reports itself unready: /health 503, /health/circuits shows the database circuit open', async () => {
    const before = driverCalls;
    const health = await http().get('/health');
    expect(health.status).toBe(503);
    const body = health.body as HealthBody;
    expect(body.status).toBe('error');
    expect(body.error?.circuits?.status).toBe('down');
    expect(body.error?.database?.status).toBe('down');
    const database = await circuit();
    expect(database).toMatchObject({ name: 'database', state: 'open' });
    expect(database.failures).toBeGreaterThanOrEqual(5);
    expect(database.rejected).toBeGreaterThan(0);
    expect(new Date(database.openedAt as string).toISOString()).toBe(database.openedAt);
    // The readiness probe is refused by the open circuit too.
    expect(driverCalls).toBe(before);
    figures.healthDuringOutage = health.status;
  });

  it('answers writes during the outage 503 DATABASE_UNAVAILABLE (they are not stored)', async () => {
    const before = driverCalls;
    seen.length = 0;
    for (let priority = 1; priority <= 3; priority++) {
      const res = await http()
        .post(`${API}/model-configs`)
        .send(configBody(outageUsageType, priority));
      expectError(res, 503, 'DATABASE_UNAVAILABLE');
      expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    }
    const chain = await http()
      .put(`${API}/usage-types/${outageUsageType}/chain`)
      .send({ items: [{ modelId: 'm', modelName: 'M', provider: 'p' }] });
    expectError(chain, 503, 'DATABASE_UNAVAILABLE');
    figures.driverCallsFromOutageWrites = driverCalls - before;
    figures.statementsFromOutageWrites = [...seen];
  });

  it('does not let outage writes reach the driver either (BEGIN/ROLLBACK included)', () => {
    expect(figures.statementsFromOutageWrites).toEqual([]);
  });

  it('recovers without restart: half-open after the reset timeout, closed on the next request, 200s again', async () => {
    faulty = false;
    const wait = RESET_MS + 100 - (performance.now() - openedAtMs);
    if (wait > 0) await sleep(wait);
    const before = driverCalls;
    expect((await circuit()).state).toBe('half-open');
    // The next request is the trial: it reaches the database, succeeds and closes the circuit.
    const trial = await http().get(`${API}/model-configs?usageType=${outageUsageType}`);
    expect(ok<ConfigPage>(trial).total).toBe(0);
    expect(driverCalls).toBeGreaterThan(before);
    expect(await circuit()).toMatchObject({ state: 'closed', failures: 0, openedAt: null });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      statuses.push((await http().get(`${API}/model-configs?limit=5`)).status);
    }
    expect(statuses).toEqual(Array(10).fill(200));
    expect((await coldRead()).status).toBe(404);
    ok(await http().get('/health'));
    figures.recoveredAfterMs = Math.round(performance.now() - openedAtMs);
  });

  it('stored none of the outage writes, and stores new writes again', async () => {
    const page = ok<ConfigPage>(
      await http().get(`${API}/model-configs?usageType=${outageUsageType}`),
    );
    expect(page.items).toEqual([]);
    await expect(
      http().get(`${API}/usage-types/${outageUsageType}/fallback-chain`),
    ).resolves.toMatchObject({ status: 404 });
    const created = await http().post(`${API}/model-configs`).send(configBody(outageUsageType, 1));
    expect(created.status).toBe(201);
    const after = ok<ConfigPage>(
      await http().get(`${API}/model-configs?usageType=${outageUsageType}`),
    );
    expect(after.total).toBe(1);
  });

  it('opens the circuit under a write-only outage too (failed BEGINs count)', async () => {
    expect(policies.get(DATABASE_CIRCUIT).state).toBe('closed');
    faulty = true;
    const before = driverCalls;
    const usageType = unique('write-outage');
    const statuses: number[] = [];
    for (let priority = 1; priority <= 8; priority++) {
      const res = await http().post(`${API}/model-configs`).send(configBody(usageType, priority));
      statuses.push(res.status);
    }
    faulty = false;
    figures.writeOnlyOutage = {
      statuses: [...new Set(statuses)],
      driverCalls: driverCalls - before,
      circuit: policies.get(DATABASE_CIRCUIT).state,
    };
    expect(statuses).toEqual(Array(8).fill(503));
    expect(policies.get(DATABASE_CIRCUIT).state).toBe('open');
    expect(driverCalls - before).toBeLessThanOrEqual(5);
  });
});
