import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable, SetMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  DatabaseIoError,
  DuckDbClient,
  DuckDbModule,
  DuckDbPool,
  UniqueViolationError,
} from '@lib/duckdb';
import { TransactionHost, Transactional, TransactionsModule } from '@lib/transactions';
import { ResiliencePolicies } from './resilience-policies';
import type { Clock } from './clock';
import { DATABASE_CIRCUIT, RESILIENCE_METADATA } from './resilience.constants';
import { CircuitBreaker, Retry, Timeout } from './resilience.decorators';
import { CircuitOpenError, OperationTimeoutError } from './resilience.errors';
import { ResilienceModule } from './resilience.module';

class FakeClock implements Clock {
  private ms = 0;
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const LONG_QUERY = 'SELECT count(*) AS n FROM range(10000000000)';

@Injectable()
class Jobs {
  attempts = 0;
  failuresLeft = 0;
  inTransactionSeen: boolean[] = [];

  constructor(
    private readonly db: DuckDbClient,
    private readonly host: TransactionHost,
  ) {}

  /** Fails `failuresLeft` times with a transient error, then succeeds. */
  @Retry({ maxRetries: 3, baseDelayMs: 1 })
  @SetMetadata('jobs:role', 'reader')
  async flaky(): Promise<string> {
    this.attempts++;
    this.inTransactionSeen.push(this.host.isActive());
    if (this.failuresLeft-- > 0) throw new DatabaseIoError();
    return 'done';
  }

  /** Writes a duplicate key: a permanent error. */
  @Retry({ maxRetries: 3, baseDelayMs: 1 })
  async insertDuplicate(): Promise<void> {
    this.attempts++;
    await this.db.execute('INSERT INTO items VALUES ($1)', [1]);
  }

  @CircuitBreaker('jobs', { failureThreshold: 2, resetTimeoutMs: 5_000 })
  async guarded(fail: boolean): Promise<string> {
    this.attempts++;
    if (fail) throw new DatabaseIoError();
    return 'guarded';
  }

  @Timeout(200)
  async longCount(): Promise<unknown> {
    return this.db.queryOne(LONG_QUERY);
  }

  @Timeout(1_000)
  async quick(): Promise<unknown> {
    return this.db.queryOne<{ answer: number }>('SELECT 42 AS answer');
  }

  @Retry({ maxRetries: 1, baseDelayMs: 1 })
  @CircuitBreaker('stacked')
  @Timeout(500)
  async stacked(value: number): Promise<number> {
    return value * 2;
  }
}

@Injectable()
class Orders {
  constructor(private readonly jobs: Jobs) {}

  @Transactional()
  async inTransaction(): Promise<string> {
    return this.jobs.flaky();
  }
}

interface Booted {
  moduleRef: TestingModule;
  jobs: Jobs;
  orders: Orders;
  db: DuckDbClient;
  pool: DuckDbPool;
  policies: ResiliencePolicies;
  clock: FakeClock;
}

/** A Nest module with ResilienceModule (fake clock, random 0), DuckDB and transactions. */
async function boot(path: string): Promise<Booted> {
  const clock = new FakeClock();
  const moduleRef = await Test.createTestingModule({
    imports: [
      ResilienceModule.forRoot({ isGlobal: true, clock, random: () => 0 }),
      DuckDbModule.forRoot({
        path,
        isGlobal: true,
        // One connection: the next statement needs the one the timed-out statement held.
        pool: { max: 1, acquireTimeoutMs: 3_000 },
        queryTimeoutMs: 60_000,
      }),
      TransactionsModule,
    ],
    providers: [Jobs, Orders],
  }).compile();
  moduleRef.useLogger(false);
  await moduleRef.init();
  const db = moduleRef.get(DuckDbClient);
  await db.execute('CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY)');
  await db.execute('INSERT INTO items VALUES (1) ON CONFLICT DO NOTHING');
  return {
    moduleRef,
    jobs: moduleRef.get(Jobs),
    orders: moduleRef.get(Orders),
    db,
    pool: moduleRef.get(DuckDbPool),
    policies: moduleRef.get(ResiliencePolicies),
    clock,
  };
}

/** Waits until no statement runs or waits on the pool (interrupts and retries settled). */
async function databaseIdle(pool: DuckDbPool): Promise<void> {
  let quiet = 0;
  for (let i = 0; i < 400 && quiet < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const { inUse, waiting } = pool.stats();
    quiet = inUse === 0 && waiting === 0 ? quiet + 1 : 0;
  }
}

let dir: string;
let counter = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'resilience-decorators-spec-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('@Retry / @CircuitBreaker / @Timeout on providers (Nest + DuckDB)', () => {
  let booted: Booted;
  let jobs: Jobs;

  beforeAll(async () => {
    booted = await boot(join(dir, `app-${++counter}.duckdb`));
    jobs = booted.jobs;
  });

  afterAll(async () => {
    await booted?.moduleRef.close();
  });

  beforeEach(() => {
    jobs.attempts = 0;
    jobs.failuresLeft = 0;
    jobs.inTransactionSeen = [];
  });

  it('keeps the method’s metadata and name, and records every policy applied', () => {
    const method = Jobs.prototype.flaky;
    expect(method.name).toBe('flaky');
    expect(Reflect.getMetadata('jobs:role', method)).toBe('reader');
    expect(Reflect.getMetadata(RESILIENCE_METADATA, method)).toEqual(['Retry']);
    expect(Reflect.getMetadata(RESILIENCE_METADATA, Jobs.prototype.stacked)).toEqual([
      'Timeout',
      'CircuitBreaker',
      'Retry',
    ]);
    expect(Reflect.getMetadata('design:paramtypes', Jobs.prototype, 'guarded')).toEqual([Boolean]);
  });

  it('@Retry retries transient failures outside a transaction', async () => {
    jobs.failuresLeft = 2;
    await expect(jobs.flaky()).resolves.toBe('done');
    expect(jobs.attempts).toBe(3);
    jobs.attempts = 0;
    jobs.failuresLeft = 10;
    await expect(jobs.flaky()).rejects.toBeInstanceOf(DatabaseIoError);
    expect(jobs.attempts).toBe(4);
  });

  it('@Retry does not retry inside a transaction (the owning scope reruns work)', async () => {
    jobs.failuresLeft = 1;
    await expect(booted.orders.inTransaction()).rejects.toBeInstanceOf(DatabaseIoError);
    expect(jobs.attempts).toBe(1);
    expect(jobs.inTransactionSeen).toEqual([true]);
    jobs.attempts = 0;
    jobs.failuresLeft = 1;
    await expect(booted.db.transaction(() => jobs.flaky())).rejects.toBeInstanceOf(DatabaseIoError);
    expect(jobs.attempts).toBe(1);
  });

  it('@Retry never retries a constraint violation', async () => {
    await expect(jobs.insertDuplicate()).rejects.toBeInstanceOf(UniqueViolationError);
    expect(jobs.attempts).toBe(1);
  });

  it('@CircuitBreaker opens its named circuit and rejects without running the method', async () => {
    const { policies, clock } = booted;
    await expect(jobs.guarded(true)).rejects.toBeInstanceOf(DatabaseIoError);
    await expect(jobs.guarded(true)).rejects.toBeInstanceOf(DatabaseIoError);
    expect(jobs.attempts).toBe(2);
    await expect(jobs.guarded(false)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(jobs.attempts).toBe(2);
    expect(policies.list()).toContainEqual(
      expect.objectContaining({ name: 'jobs', state: 'open', rejected: 1 }),
    );
    clock.advance(5_000);
    await expect(jobs.guarded(false)).resolves.toBe('guarded');
    expect(policies.get('jobs').state).toBe('closed');
  });

  it('stacked @Retry @CircuitBreaker @Timeout pass the value through', async () => {
    await expect(jobs.stacked(21)).resolves.toBe(42);
    expect(booted.policies.get('stacked').info().successes).toBe(1);
  });

  it('@Timeout(200) interrupts a running DuckDB statement quickly and the pool stays usable', async () => {
    const started = performance.now();
    await expect(jobs.longCount()).rejects.toBeInstanceOf(OperationTimeoutError);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1_500);
    // The pool has one connection: this query gets it only if the long statement was interrupted.
    const next = performance.now();
    await expect(jobs.quick()).resolves.toEqual({ answer: 42 });
    expect(performance.now() - next).toBeLessThan(1_500);
    await expect(booted.db.queryOne('SELECT count(*) AS n FROM items')).resolves.toEqual({
      n: 1,
    });
    await databaseIdle(booted.pool);
    expect(booted.pool.stats()).toMatchObject({ inUse: 0, waiting: 0, timeouts: 0 });
  });
});

describe('a @Timeout and the database circuit', () => {
  let booted: Booted;

  beforeEach(async () => {
    booted = await boot(join(dir, `app-${++counter}.duckdb`));
  });

  afterEach(async () => {
    await booted?.moduleRef.close();
  });

  it('a timed-out read counts once against the database circuit (its abandoned read is not retried)', async () => {
    const statements: string[] = [];
    booted.pool.setFaultInjector((sql) => void statements.push(sql));
    await expect(booted.jobs.longCount()).rejects.toBeInstanceOf(OperationTimeoutError);
    await databaseIdle(booted.pool);
    expect(statements).toEqual([LONG_QUERY]);
    expect(booted.policies.get(DATABASE_CIRCUIT).info().failures).toBeLessThanOrEqual(1);
    expect(booted.policies.retryStats()).toContainEqual(
      expect.objectContaining({ name: DATABASE_CIRCUIT, retries: 0 }),
    );
  });

  it('two @Timeout expirations in a row do not take the database circuit open', async () => {
    await expect(booted.jobs.longCount()).rejects.toBeInstanceOf(OperationTimeoutError);
    await expect(booted.jobs.longCount()).rejects.toBeInstanceOf(OperationTimeoutError);
    await databaseIdle(booted.pool);
    expect(booted.policies.get(DATABASE_CIRCUIT).state).toBe('closed');
    await expect(booted.db.queryOne('SELECT 42 AS answer')).resolves.toEqual({ answer: 42 });
  });
});
