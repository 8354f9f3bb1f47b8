import { Logger } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import {
  type DuckDbClient,
  type DuckDbDatabase,
  type DuckDbPool,
  type PoolStats,
  QueryFailedError,
} from '@lib/duckdb';
import type { TransactionManager, TransactionStats } from '@lib/transactions';
import { DatabaseHealthIndicator } from './database.health';
import type { HealthModuleOptions } from './health.interfaces';

const STATS: PoolStats = {
  enabled: true,
  min: 1,
  max: 4,
  size: 1,
  idle: 1,
  inUse: 0,
  waiting: 0,
  created: 1,
  acquired: 0,
  released: 0,
  timeouts: 0,
  healthChecks: 0,
  healthCheckFailures: 0,
  avgAcquireMs: 0,
  maxAcquireMs: 0,
};

const TX_STATS: TransactionStats = {
  started: 2,
  committed: 1,
  rolledBack: 1,
  retried: 0,
  conflicts: 0,
  timeouts: 0,
  hookFailures: 0,
  active: 0,
  avgDurationMs: 1.5,
  maxDurationMs: 2,
};

function indicator(query: jest.Mock, options: HealthModuleOptions = {}): DatabaseHealthIndicator {
  const client = { query } as unknown as DuckDbClient;
  const pool = { stats: () => ({ ...STATS }) } as unknown as DuckDbPool;
  const database = {
    mode: 'pool',
    file: 'app.duckdb',
    inMemory: false,
    schemaVersion: 3,
  } as unknown as DuckDbDatabase;
  const transactions = { stats: () => ({ ...TX_STATS }) } as unknown as TransactionManager;
  return new DatabaseHealthIndicator(
    new HealthIndicatorService(),
    client,
    pool,
    database,
    options,
    transactions,
  );
}

describe('DatabaseHealthIndicator', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterEach(() => jest.useRealTimers());

  it('is up with the database facts when SELECT 1 answers, and leaves no timer behind', async () => {
    jest.useFakeTimers();
    const query = jest.fn().mockResolvedValue([{ ok: 1 }]);
    const result = await indicator(query).isHealthy();
    expect(query).toHaveBeenCalledWith('SELECT 1 AS ok');
    expect(result.database).toEqual({
      status: 'up',
      mode: 'pool',
      latencyMs: expect.any(Number),
      file: 'app.duckdb',
      inMemory: false,
      schemaVersion: 3,
      pool: STATS,
      transactions: TX_STATS,
    });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('reports under the key it is given', async () => {
    const result = await indicator(jest.fn().mockResolvedValue([])).isHealthy('duckdb');
    expect(result.duckdb.status).toBe('up');
  });

  it('is down, without throwing, when the probe outruns databaseTimeoutMs', async () => {
    jest.useFakeTimers();
    const query = jest.fn().mockReturnValue(new Promise(() => undefined));
    const pending = indicator(query, { databaseTimeoutMs: 300 }).isHealthy();
    await jest.advanceTimersByTimeAsync(299);
    let settled = false;
    void pending.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const result = await pending;
    expect(result.database.status).toBe('down');
    expect(result.database.message).toBe('The database did not answer within 300 ms.');
    expect(result.database.pool).toEqual(STATS);
  });

  it('does not queue a second probe while one is still in flight', async () => {
    jest.useFakeTimers();
    let answer: (rows: unknown[]) => void = () => undefined;
    const query = jest.fn().mockReturnValue(new Promise((resolve) => (answer = resolve)));
    const health = indicator(query, { databaseTimeoutMs: 100 });
    const first = health.isHealthy();
    await jest.advanceTimersByTimeAsync(100);
    expect((await first).database.status).toBe('down');
    const second = health.isHealthy();
    expect(query).toHaveBeenCalledTimes(1);
    answer([{ ok: 1 }]);
    expect((await second).database.status).toBe('up');
    // Once the stuck probe has settled, the next check runs a fresh one.
    query.mockResolvedValue([{ ok: 1 }]);
    await health.isHealthy();
    expect(query).toHaveBeenCalledTimes(2);
  });

  it('never puts SQL, driver text or file paths in the down message', async () => {
    const typed = new QueryFailedError({
      context: { operation: 'query', sql: 'SELECT secret FROM users' },
      cause: new Error('IO Error: Cannot open file "/var/lib/secret/app.duckdb"'),
    });
    const raw = new Error('IO Error: Cannot open file "/var/lib/secret/app.duckdb"');
    for (const error of [typed, raw, 'a string']) {
      const result = await indicator(jest.fn().mockRejectedValue(error)).isHealthy();
      expect(result.database.status).toBe('down');
      expect(result.database.message).toMatch(/^The database probe failed/);
      expect(result.database.message).not.toMatch(/\/|SELECT|IO Error/);
    }
  });

  it('refuses a databaseTimeoutMs that is not a positive integer', () => {
    for (const databaseTimeoutMs of [0, -1, 1.5, Number.NaN]) {
      expect(() => indicator(jest.fn(), { databaseTimeoutMs })).toThrow(/databaseTimeoutMs/);
    }
  });
});
