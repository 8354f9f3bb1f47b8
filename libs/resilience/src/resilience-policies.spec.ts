import { DatabaseIoError, statementSignalStorage } from '@lib/duckdb';
import { ResiliencePolicies } from './resilience-policies';
import type { Clock } from './clock';
import { DatabaseExceptionHandler } from './database-exception.handler';
import { RESILIENCE_DEFAULTS } from './resilience.constants';
import { CircuitOpenError, OperationTimeoutError } from './resilience.errors';

class FakeClock implements Clock {
  private ms = 0;
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

function policiesWith(clock: Clock = new FakeClock()): ResiliencePolicies {
  return new ResiliencePolicies(
    { clock, random: () => 0.5, breaker: { failureThreshold: 5, resetTimeoutMs: 1_000 } },
    new DatabaseExceptionHandler(),
  );
}

describe('ResiliencePolicies', () => {
  it('creates a breaker per name on first use with the module defaults, then returns the same one', () => {
    const policies = policiesWith();
    const a = policies.get('a');
    expect(policies.get('a')).toBe(a);
    expect(policies.get('b')).not.toBe(a);
    expect(policies.list()).toEqual([
      { name: 'a', state: 'closed', failures: 0, successes: 0, rejected: 0, openedAt: null },
      { name: 'b', state: 'closed', failures: 0, successes: 0, rejected: 0, openedAt: null },
    ]);
  });

  it('applies per-breaker overrides on creation', async () => {
    const clock = new FakeClock();
    const policies = policiesWith(clock);
    const strict = policies.get('strict', { failureThreshold: 1 });
    await expect(
      strict.execute(async () => {
        throw new DatabaseIoError();
      }),
    ).rejects.toBeInstanceOf(DatabaseIoError);
    expect(policies.list()).toEqual([
      expect.objectContaining({ name: 'strict', state: 'open', failures: 1 }),
    ]);
    await expect(strict.execute(async () => 1)).rejects.toMatchObject({
      retryAfterMs: 1_000,
    });
    clock.advance(1_000);
    expect(policies.list()[0].state).toBe('half-open');
  });

  it('tells onBreaker listeners about existing and future breakers', () => {
    const policies = policiesWith();
    policies.get('early');
    const seen: string[] = [];
    policies.onBreaker((breaker) => seen.push(breaker.name));
    policies.get('late');
    policies.get('late');
    expect(seen).toEqual(['early', 'late']);
  });

  it('exposes the documented defaults (API.md §4)', () => {
    expect(RESILIENCE_DEFAULTS.retry).toMatchObject({
      maxRetries: 3,
      baseDelayMs: 50,
      maxDelayMs: 2_000,
    });
    expect(RESILIENCE_DEFAULTS.breaker).toMatchObject({
      failureThreshold: 5,
      resetTimeoutMs: 30_000,
    });
  });

  describe('timeout (fake timers)', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('rejects with OperationTimeoutError after ms and aborts the statement signal', async () => {
      const policies = policiesWith();
      let signal: AbortSignal | undefined;
      const outcome = policies
        .timeout(200, () => {
          signal = statementSignalStorage.getStore();
          return new Promise<never>(() => undefined);
        })
        .catch((error: unknown) => error);
      await jest.advanceTimersByTimeAsync(199);
      expect(signal?.aborted).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      const error = await outcome;
      expect(error).toBeInstanceOf(OperationTimeoutError);
      expect((error as OperationTimeoutError).timeoutMs).toBe(200);
      expect(signal?.aborted).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('passes values and errors through when fn settles in time', async () => {
      const policies = policiesWith();
      await expect(policies.timeout(100, async () => 42)).resolves.toBe(42);
      const error = new DatabaseIoError();
      await expect(
        policies.timeout(100, async () => {
          throw error;
        }),
      ).rejects.toBe(error);
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  describe('leaves nothing behind', () => {
    afterEach(() => jest.useRealTimers());

    it('10,000 calls through retry + breaker + timeout leave no timer (fake timers)', async () => {
      jest.useFakeTimers();
      const policies = policiesWith();
      const breaker = policies.get('leak', { failureThreshold: 1_000_000 });
      const retry = policies.retry('leak', { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 });
      let attempts = 0;
      const failedOnce = new Set<number>();
      const call = (i: number) =>
        retry.execute(() =>
          breaker.execute(() =>
            policies.timeout(1_000, async () => {
              attempts++;
              // Every 50th call fails once (a retry with a backoff timer), then succeeds.
              if (i % 50 === 0 && !failedOnce.has(i)) {
                failedOnce.add(i);
                throw new DatabaseIoError();
              }
              return i;
            }),
          ),
        );
      const results: number[] = [];
      for (let batch = 0; batch < 100; batch++) {
        const pending = Array.from({ length: 100 }, (_, j) => call(batch * 100 + j));
        const settled = Promise.all(pending);
        await jest.advanceTimersByTimeAsync(10);
        results.push(...(await settled));
      }
      expect(results).toHaveLength(10_000);
      expect(attempts).toBe(10_000 + 200);
      expect(jest.getTimerCount()).toBe(0);
      expect(breaker.info()).toMatchObject({ state: 'closed', successes: 10_000 });
      // 10,000 calls of CPU work: about 1 s alone, several on a loaded 2-core machine.
    }, 30_000);

    it('2,000 real-timer calls do not grow the active resources', async () => {
      const policies = policiesWith();
      const breaker = policies.get('leak-real');
      const retry = policies.retry('leak-real');
      const before = countResources();
      for (let i = 0; i < 2_000; i++) {
        await retry.execute(() => breaker.execute(() => policies.timeout(5_000, async () => i)));
      }
      // An open circuit's rejections leave nothing either.
      breaker.open();
      for (let i = 0; i < 100; i++) {
        await expect(
          retry.execute(() => breaker.execute(() => policies.timeout(5_000, async () => i))),
        ).rejects.toBeInstanceOf(CircuitOpenError);
      }
      expect(countResources()).toBeLessThanOrEqual(before);
    }, 30_000);
  });
});

function countResources(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}
