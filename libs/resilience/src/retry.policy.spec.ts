import {
  CheckViolationError,
  DatabaseIoError,
  ForeignKeyViolationError,
  NotNullViolationError,
  PoolAcquireTimeoutError,
  QuerySyntaxError,
  QueryTimeoutError,
  ReadOnlyTransactionError,
  UniqueViolationError,
} from '@lib/duckdb';
import { ResiliencePolicies } from './resilience-policies';
import type { Clock } from './clock';
import { DatabaseExceptionHandler } from './database-exception.handler';
import { CircuitOpenError, OperationTimeoutError } from './resilience.errors';
import type { RetryOptions } from './resilience.interfaces';
import { RetryBudget } from './retry-budget';
import { RetryPolicy } from './retry.policy';

const handler = new DatabaseExceptionHandler();
const isTransient = (error: unknown) => handler.isTransient(error);
const RETRY: Required<RetryOptions> = {
  maxRetries: 3,
  baseDelayMs: 10,
  maxDelayMs: 100,
  jitter: 'full',
};

/** A policy whose retries wait 0 ms (random 0), on its own budget. */
function policyWith(budget: RetryBudget, options: Partial<RetryOptions> = {}): RetryPolicy {
  return new RetryPolicy('dep', { ...RETRY, ...options }, budget, isTransient, () => 0);
}

/** Runs `fn` through `policy`, firing backoff timers until it settles. */
async function run<T>(policy: RetryPolicy, fn: () => Promise<T>): Promise<T | unknown> {
  const outcome = policy.execute(fn).then(
    (value) => value,
    (error: unknown) => error,
  );
  await jest.runAllTimersAsync();
  return outcome;
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('RetryBudget', () => {
  it('starts full, pays one token per retry, and caps deposits at maxTokens', () => {
    const budget = new RetryBudget(0.5, 2);
    expect(budget.available).toBe(2);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    budget.deposit();
    expect(budget.tryWithdraw()).toBe(false);
    budget.deposit();
    expect(budget.tryWithdraw()).toBe(true);
    for (let i = 0; i < 100; i++) budget.deposit();
    expect(budget.available).toBe(2);
  });

  it('earns one retry per 10 calls at ratio 0.1 (the default), not per 11', () => {
    const budget = new RetryBudget(0.1, 10);
    for (let i = 0; i < 10; i++) expect(budget.tryWithdraw()).toBe(true);
    const earnedAt: number[] = [];
    for (let call = 1; call <= 50; call++) {
      budget.deposit();
      if (budget.tryWithdraw()) earnedAt.push(call);
    }
    // 10 × 0.1 sums to 0.9999999999999999 in floating point: a retry must not need an 11th call.
    expect(earnedAt).toEqual([10, 20, 30, 40, 50]);
  });
});

describe('RetryPolicy with a budget', () => {
  it('pays only ~N/10 retries for N calls at ratio 0.1 once the initial tokens are spent', async () => {
    const budget = new RetryBudget(0.1, 10);
    const policy = policyWith(budget);
    const N = 1000;
    let attempts = 0;
    let failedCalls = 0;
    for (let call = 0; call < N; call++) {
      let first = true;
      // Every call fails once, then succeeds: each call wants exactly one retry.
      const result = await run(policy, async () => {
        attempts++;
        if (first) {
          first = false;
          throw new DatabaseIoError();
        }
        return 'ok';
      });
      if (result !== 'ok') failedCalls++;
    }
    const { calls, retries, budgetExhausted } = policy.stats();
    expect(calls).toBe(N);
    expect(attempts).toBe(N + retries);
    // 10 initial tokens, then 0.1 per call.
    expect(retries).toBeGreaterThanOrEqual(10 + N / 10 - 1);
    expect(retries).toBeLessThanOrEqual(10 + N / 10);
    expect(budgetExhausted).toBe(N - retries);
    expect(failedCalls).toBe(N - retries);
  });

  it('stops retrying during an outage: total attempts stay near calls, not 4× calls', async () => {
    const budget = new RetryBudget(0.1, 10);
    const policy = policyWith(budget);
    const N = 1000;
    let attempts = 0;
    const perCall: number[] = [];
    for (let call = 0; call < N; call++) {
      const before = attempts;
      const error = await run(policy, async () => {
        attempts++;
        throw new DatabaseIoError();
      });
      expect(error).toBeInstanceOf(DatabaseIoError);
      perCall.push(attempts - before);
    }
    // Without a budget: N × (1 + maxRetries) = 4000 attempts.
    expect(attempts).toBeLessThanOrEqual(N + 10 + N / 10);
    expect(attempts).toBeGreaterThan(N);
    expect(perCall.slice(0, 2)).toEqual([4, 4]);
    // Once the bucket is empty, most calls are made exactly once.
    const tail = perCall.slice(-100);
    expect(tail.filter((n) => n === 1).length).toBeGreaterThanOrEqual(89);
    expect(policy.stats().retries).toBe(attempts - N);
  });

  it('spends exactly one token per retry made (none for a retry that maxRetries forbids)', async () => {
    const budget = new RetryBudget(0.1, 10);
    const policy = policyWith(budget);
    let attempts = 0;
    await run(policy, async () => {
      attempts++;
      throw new DatabaseIoError();
    });
    expect(attempts).toBe(4);
    expect(policy.stats().retries).toBe(3);
    expect(policy.stats().budgetExhausted).toBe(0);
    // 10 tokens (the deposit is capped), 3 retries paid.
    expect(budget.available).toBeCloseTo(7, 9);
  });

  it('with maxRetries 0 never retries and spends nothing', async () => {
    const budget = new RetryBudget(0.1, 10);
    const policy = policyWith(budget, { maxRetries: 0 });
    let attempts = 0;
    await run(policy, async () => {
      attempts++;
      throw new DatabaseIoError();
    });
    expect(attempts).toBe(1);
    expect(budget.available).toBe(10);
    expect(policy.stats().budgetExhausted).toBe(0);
  });
});

describe('RetryPolicy retries only transient errors', () => {
  const transient: [string, () => unknown][] = [
    ['DatabaseIoError', () => new DatabaseIoError()],
    ['a raw driver "IO Error: …"', () => new Error('IO Error: Could not write file')],
    ['PoolAcquireTimeoutError', () => new PoolAcquireTimeoutError({ waitedMs: 50 })],
    ['QueryTimeoutError', () => new QueryTimeoutError({ timeoutMs: 100 })],
    ['OperationTimeoutError', () => new OperationTimeoutError(100)],
    [
      'a raw "connection disconnected"',
      () => new Error('Failed to query: connection disconnected'),
    ],
  ];
  const permanent: [string, () => unknown][] = [
    ['CircuitOpenError', () => new CircuitOpenError('database', 1000)],
    ['UniqueViolationError', () => new UniqueViolationError()],
    [
      'a raw duplicate-key driver error',
      () => new Error('Constraint Error: Duplicate key "id: 1" violates primary key constraint.'),
    ],
    ['NotNullViolationError', () => new NotNullViolationError()],
    ['ForeignKeyViolationError', () => new ForeignKeyViolationError()],
    ['CheckViolationError', () => new CheckViolationError()],
    ['QuerySyntaxError', () => new QuerySyntaxError()],
    ['ReadOnlyTransactionError', () => new ReadOnlyTransactionError()],
    ['a plain application Error', () => new Error('boom')],
  ];

  it.each(transient)('retries %s up to maxRetries', async (_name, make) => {
    const policy = policyWith(new RetryBudget(0.1, 10));
    let attempts = 0;
    const error = await run(policy, async () => {
      attempts++;
      throw make();
    });
    expect(attempts).toBe(4);
    expect(error).toBeInstanceOf(Error);
  });

  it.each(permanent)('never retries %s', async (_name, make) => {
    const policy = policyWith(new RetryBudget(0.1, 10));
    let attempts = 0;
    const thrown = make();
    const error = await run(policy, async () => {
      attempts++;
      throw thrown;
    });
    expect(attempts).toBe(1);
    expect(error).toBe(thrown);
    expect(policy.stats().retries).toBe(0);
  });
});

describe('retry around a breaker (policies)', () => {
  it('stops retrying as soon as the breaker opens: CircuitOpenError is never retried', async () => {
    const clock: Clock = { now: () => 0 };
    const policies = new ResiliencePolicies(
      { clock, random: () => 0, budget: { maxTokens: 100 } },
      handler,
    );
    const retry = policies.retry('db', { maxRetries: 10 });
    const breaker = policies.get('db', { failureThreshold: 5 });
    let attempts = 0;
    const error = await run(retry, () =>
      breaker.execute(async () => {
        attempts++;
        throw new DatabaseIoError();
      }),
    );
    expect(attempts).toBe(5);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(breaker.state).toBe('open');
    expect(policies.retryStats()).toEqual([
      { name: 'db', calls: 1, retries: 5, budgetExhausted: 0 },
    ]);
  });

  it('shares one budget between the retry policies of a dependency', async () => {
    const policies = new ResiliencePolicies(
      { random: () => 0, budget: { ratio: 0.1, maxTokens: 2 } },
      handler,
    );
    const a = policies.retry('shared', { maxRetries: 5 });
    const b = policies.retry('shared', { maxRetries: 1 });
    expect(a).not.toBe(b);
    const failing = async (): Promise<never> => {
      throw new DatabaseIoError();
    };
    await run(a, failing);
    await run(b, failing);
    const [stats] = policies.retryStats();
    expect(stats.name).toBe('shared');
    expect(stats.calls).toBe(2);
    expect(stats.retries).toBe(2);
  });
});
