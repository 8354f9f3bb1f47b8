import type { IBackoffFactory } from 'cockatiel';
import fc from 'fast-check';
import { DatabaseIoError } from '@lib/duckdb';
import { JitteredBackoff } from './backoff';
import { DatabaseExceptionHandler } from './database-exception.handler';
import { RetryBudget } from './retry-budget';
import { RetryPolicy } from './retry.policy';

/** A random source in [0, 1), as `Math.random` promises. */
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const baseMs = fc.integer({ min: 1, max: 10_000 });
const maxMs = fc.integer({ min: 1, max: 600_000 });
const attempt = fc.integer({ min: 0, max: 64 });

/** The `duration`s cockatiel would see for the first `count` retries. */
function durations(backoff: IBackoffFactory<unknown>, count: number): number[] {
  let step = backoff.next(undefined);
  const seen = [step.duration];
  while (seen.length < count) {
    step = step.next(undefined);
    seen.push(step.duration);
  }
  return seen;
}

describe('JitteredBackoff', () => {
  describe('full jitter', () => {
    it('delays retry n by a value in [0, min(max, base·2ⁿ)) for any base, max, n and random', () => {
      fc.assert(
        fc.property(baseMs, maxMs, attempt, unit, unit, (base, max, n, random, previous) => {
          const backoff = new JitteredBackoff(base, max, 'full', () => random);
          const delay = backoff.delay(n, previous * max);
          const cap = Math.min(max, base * 2 ** n);
          expect(Number.isFinite(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(cap);
        }),
      );
    });

    it('grows the cap exponentially until max: for a fixed random, delays never shrink', () => {
      fc.assert(
        fc.property(baseMs, maxMs, unit, (base, max, random) => {
          const seen = durations(new JitteredBackoff(base, max, 'full', () => random), 40);
          for (let n = 0; n < seen.length; n++) {
            expect(seen[n]).toBeCloseTo(random * Math.min(max, base * 2 ** n), 6);
            if (n > 0) expect(seen[n]).toBeGreaterThanOrEqual(seen[n - 1]);
          }
        }),
      );
    });

    it('spreads delays over the whole range (it is jitter, not a constant)', () => {
      const backoff = new JitteredBackoff(100, 10_000, 'full', () => 0);
      const top = new JitteredBackoff(100, 10_000, 'full', () => 0.999);
      expect(backoff.delay(3, 0)).toBe(0);
      expect(top.delay(3, 0)).toBeCloseTo(799.2, 6);
    });
  });

  describe('decorrelated jitter', () => {
    it('stays in [base, max] and at most 3·previous when previous ≥ base', () => {
      fc.assert(
        fc.property(
          baseMs,
          maxMs,
          attempt,
          unit,
          fc.double({ min: 0, max: 1, noNaN: true }),
          (a, b, n, random, where) => {
            const [base, max] = a <= b ? [a, b] : [b, a];
            const previous = base + where * (max - base);
            const delay = new JitteredBackoff(base, max, 'decorrelated', () => random).delay(
              n,
              previous,
            );
            expect(delay).toBeGreaterThanOrEqual(base);
            expect(delay).toBeLessThanOrEqual(max);
            expect(delay).toBeLessThanOrEqual(3 * previous);
          },
        ),
      );
    });

    it('keeps every step of a retry sequence in [base, max] and within 3× the step before', () => {
      fc.assert(
        fc.property(
          baseMs,
          maxMs,
          fc.array(unit, { minLength: 1, maxLength: 30 }),
          (a, b, randoms) => {
            const [base, max] = a <= b ? [a, b] : [b, a];
            let i = 0;
            const random = () => randoms[i++ % randoms.length];
            const seen = durations(new JitteredBackoff(base, max, 'decorrelated', random), 30);
            expect(seen[0]).toBeLessThanOrEqual(Math.min(max, 3 * base));
            for (let n = 0; n < seen.length; n++) {
              expect(seen[n]).toBeGreaterThanOrEqual(base);
              expect(seen[n]).toBeLessThanOrEqual(max);
              if (n > 0) expect(seen[n]).toBeLessThanOrEqual(3 * seen[n - 1]);
            }
          },
        ),
      );
    });
  });

  describe('under RetryPolicy (fake timers)', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('waits exactly the jittered delay before each retry', async () => {
      const policy = new RetryPolicy(
        'backoff',
        { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 10_000, jitter: 'full' },
        new RetryBudget(0.1, 10),
        (e) => new DatabaseExceptionHandler().isTransient(e),
        () => 0.5,
      );
      let calls = 0;
      const outcome = policy
        .execute(async () => {
          calls++;
          throw new DatabaseIoError();
        })
        .catch((error: unknown) => error);
      // Delays: 0.5 × 100, 0.5 × 200, 0.5 × 400.
      for (const [wait, expected] of [
        [0, 1],
        [49, 1],
        [1, 2],
        [99, 2],
        [1, 3],
        [199, 3],
        [1, 4],
      ]) {
        await jest.advanceTimersByTimeAsync(wait);
        expect(calls).toBe(expected);
      }
      await expect(outcome).resolves.toBeInstanceOf(DatabaseIoError);
      expect(jest.getTimerCount()).toBe(0);
    });
  });
});
