import {
  CheckViolationError,
  DatabaseIoError,
  NotNullViolationError,
  TransactionConflictError,
  UniqueViolationError,
} from '@lib/duckdb';
import { CircuitBreaker, type CircuitState } from './circuit-breaker';
import type { Clock } from './clock';
import { DatabaseExceptionHandler } from './database-exception.handler';
import { RESILIENCE_DEFAULTS } from './resilience.constants';
import { CircuitOpenError } from './resilience.errors';
import type { BreakerOptions } from './resilience.interfaces';

/** A clock that moves only when the test says so. */
class FakeClock implements Clock {
  private ms = 1_000_000;
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type Outcome = { value: unknown } | { error: unknown };

/** Settles `promise` into an outcome, recording when it settled. */
function track(promise: Promise<unknown>): { outcome?: Outcome; done: Promise<void> } {
  const tracked: { outcome?: Outcome; done: Promise<void> } = { done: Promise.resolve() };
  tracked.done = promise.then(
    (value) => void (tracked.outcome = { value }),
    (error: unknown) => void (tracked.outcome = { error }),
  );
  return tracked;
}

/** Lets every pending promise callback run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

const handler = new DatabaseExceptionHandler();
const RESET_MS = 30_000;

function breakerWith(clock: FakeClock, overrides: BreakerOptions = {}): CircuitBreaker {
  return new CircuitBreaker(
    'database',
    { ...RESILIENCE_DEFAULTS.breaker, resetTimeoutMs: RESET_MS, ...overrides },
    clock,
    (error) => handler.isFailure(error),
  );
}

const ok = async (): Promise<string> => 'ok';
const ioFailure = async (): Promise<never> => {
  throw new DatabaseIoError();
};

async function fail(breaker: CircuitBreaker, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await expect(breaker.execute(ioFailure)).rejects.toBeInstanceOf(DatabaseIoError);
  }
}

describe('CircuitBreaker (fake clock)', () => {
  let clock: FakeClock;
  let breaker: CircuitBreaker;
  let states: CircuitState[];

  beforeEach(() => {
    clock = new FakeClock();
    breaker = breakerWith(clock);
    states = [];
    breaker.onStateChange((state) => states.push(state));
  });

  it('stays closed through 4 consecutive failures and opens on the 5th', async () => {
    await fail(breaker, 4);
    expect(breaker.state).toBe('closed');
    expect(breaker.info()).toMatchObject({ state: 'closed', failures: 4, openedAt: null });
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(states).toEqual(['open']);
    expect(breaker.info()).toMatchObject({ name: 'database', state: 'open', failures: 5 });
    expect(breaker.info().openedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('counts consecutive failures only: a success resets the count', async () => {
    await fail(breaker, 4);
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    await fail(breaker, 4);
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('rejects fast while open, without calling fn, with CircuitOpenError carrying retryAfterMs', async () => {
    await fail(breaker, 5);
    clock.advance(12_000);
    const fn = jest.fn(ok);
    const call = track(breaker.execute(fn));
    await flush();
    expect(call.outcome).toBeDefined();
    const error = (call.outcome as { error: unknown }).error;
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).circuit).toBe('database');
    expect((error as CircuitOpenError).retryAfterMs).toBe(RESET_MS - 12_000);
    expect(fn).not.toHaveBeenCalled();
    for (let i = 0; i < 20; i++)
      await expect(breaker.execute(fn)).rejects.toThrow(CircuitOpenError);
    expect(fn).not.toHaveBeenCalled();
    expect(breaker.info().rejected).toBe(21);
  });

  it('half-opens after resetTimeoutMs and closes on a successful trial', async () => {
    await fail(breaker, 5);
    clock.advance(RESET_MS - 1);
    expect(breaker.state).toBe('open');
    await expect(breaker.execute(ok)).rejects.toMatchObject({ retryAfterMs: 1 });
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
    expect(breaker.info().state).toBe('half-open');
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    expect(breaker.info()).toMatchObject({ state: 'closed', failures: 0, openedAt: null });
    // Closed again: it takes 5 new consecutive failures to open it.
    await fail(breaker, 4);
    expect(breaker.state).toBe('closed');
  });

  it('goes back to open when the trial fails, for another full resetTimeoutMs', async () => {
    await fail(breaker, 5);
    const firstOpenedAt = breaker.info().openedAt;
    clock.advance(RESET_MS);
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(states).toEqual(['open', 'half-open', 'open']);
    await expect(breaker.execute(ok)).rejects.toMatchObject({ retryAfterMs: RESET_MS });
    expect(breaker.info().failures).toBe(6);
    expect(typeof breaker.info().openedAt).toBe('string');
    expect(firstOpenedAt).not.toBeNull();
    clock.advance(RESET_MS);
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('goes back to open when the trial succeeds but is slow', async () => {
    breaker = breakerWith(clock, { slowCallDurationMs: 100 });
    await fail(breaker, 5);
    clock.advance(RESET_MS);
    await breaker.execute(async () => clock.advance(100));
    expect(breaker.state).toBe('open');
  });

  it.each([
    ['UniqueViolationError', () => new UniqueViolationError()],
    ['NotNullViolationError', () => new NotNullViolationError()],
    ['CheckViolationError', () => new CheckViolationError()],
    ['TransactionConflictError', () => new TransactionConflictError()],
    [
      'a raw duplicate-key driver error',
      () => new Error('Constraint Error: Duplicate key "id: 1" violates primary key constraint.'),
    ],
    ['CircuitOpenError from a nested breaker', () => new CircuitOpenError('other', 10)],
  ])('does not count %s as a failure', async (_name, make) => {
    for (let i = 0; i < 50; i++) {
      const error = make();
      await expect(
        breaker.execute(async () => {
          throw error;
        }),
      ).rejects.toBe(error);
    }
    expect(breaker.state).toBe('closed');
    expect(breaker.info().failures).toBe(0);
    // Four real failures after them still do not open it; the fifth does.
    await fail(breaker, 4);
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('closes on a non-failure error in a half-open trial (the dependency answered)', async () => {
    await fail(breaker, 5);
    clock.advance(RESET_MS);
    await expect(
      breaker.execute(async () => {
        throw new UniqueViolationError();
      }),
    ).rejects.toBeInstanceOf(UniqueViolationError);
    expect(breaker.state).toBe('closed');
  });
});

describe('CircuitBreaker slow-call tripping (window of 20, rate 0.5)', () => {
  let clock: FakeClock;
  let breaker: CircuitBreaker;
  const SLOW = 2_000;
  const slow = async (): Promise<string> => {
    clock.advance(SLOW);
    return 'slow';
  };
  const fast = async (): Promise<string> => {
    clock.advance(5);
    return 'fast';
  };

  beforeEach(() => {
    clock = new FakeClock();
    breaker = breakerWith(clock, {
      slowCallDurationMs: SLOW,
      slowCallWindow: 20,
      slowCallRateThreshold: 0.5,
    });
  });

  it('opens when 10 of the last 20 calls were slow, although every call succeeded', async () => {
    for (let i = 0; i < 10; i++) await expect(breaker.execute(fast)).resolves.toBe('fast');
    for (let i = 0; i < 9; i++) await expect(breaker.execute(slow)).resolves.toBe('slow');
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(slow)).resolves.toBe('slow');
    expect(breaker.state).toBe('open');
    expect(breaker.info().failures).toBe(0);
    await expect(breaker.execute(fast)).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('stays closed below the rate: 9 slow of 20', async () => {
    for (let i = 0; i < 11; i++) await breaker.execute(fast);
    for (let i = 0; i < 9; i++) await breaker.execute(slow);
    expect(breaker.state).toBe('closed');
  });

  it('does not judge before the window is full (10 slow calls in a cold start)', async () => {
    for (let i = 0; i < 10; i++) await breaker.execute(slow);
    expect(breaker.state).toBe('closed');
  });

  it('slides: old fast calls leave the window', async () => {
    for (let i = 0; i < 40; i++) await breaker.execute(fast);
    for (let i = 0; i < 9; i++) await breaker.execute(slow);
    expect(breaker.state).toBe('closed');
    await breaker.execute(slow);
    expect(breaker.state).toBe('open');
  });

  it('counts a call exactly at slowCallDurationMs as slow', async () => {
    for (let i = 0; i < 10; i++) await breaker.execute(fast);
    for (let i = 0; i < 10; i++) {
      await breaker.execute(async () => {
        clock.advance(SLOW);
      });
    }
    expect(breaker.state).toBe('open');
  });
});

describe('CircuitBreaker half-open trials under concurrency', () => {
  let clock: FakeClock;
  let breaker: CircuitBreaker;

  beforeEach(async () => {
    clock = new FakeClock();
    breaker = breakerWith(clock, { halfOpenMaxCalls: 2 });
    await fail(breaker, 5);
    clock.advance(RESET_MS);
  });

  it('with halfOpenMaxCalls 2, lets exactly 2 of 5 concurrent calls run and rejects 3 at once', async () => {
    const gate = deferred<string>();
    let ran = 0;
    const calls = Array.from({ length: 5 }, () =>
      track(
        breaker.execute(() => {
          ran++;
          return gate.promise;
        }),
      ),
    );
    await flush();
    expect(ran).toBe(2);
    const rejected = calls.filter((c) => c.outcome && 'error' in c.outcome);
    expect(rejected).toHaveLength(3);
    for (const call of rejected) {
      const error = (call.outcome as { error: unknown }).error as CircuitOpenError;
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(error.retryAfterMs).toBe(0);
    }
    expect(calls.filter((c) => c.outcome === undefined)).toHaveLength(2);
    expect(breaker.state).toBe('half-open');
    gate.resolve('ok');
    await Promise.all(calls.map((c) => c.done));
    expect(breaker.state).toBe('closed');
    expect(breaker.info().rejected).toBe(3);
  });

  it('needs every trial to succeed: one success of 2 keeps it half-open and bounded', async () => {
    const first = deferred<string>();
    const second = deferred<string>();
    const a = track(breaker.execute(() => first.promise));
    const b = track(breaker.execute(() => second.promise));
    first.resolve('ok');
    await a.done;
    expect(breaker.state).toBe('half-open');
    // One trial still in flight: one more may run, not two.
    const third = deferred<string>();
    const c = track(breaker.execute(() => third.promise));
    const d = track(breaker.execute(ok));
    await flush();
    expect(d.outcome).toEqual({ error: expect.any(CircuitOpenError) });
    second.resolve('ok');
    third.resolve('ok');
    await Promise.all([b.done, c.done]);
    expect(breaker.state).toBe('closed');
  });

  it('a failed trial reopens the circuit; the other trial finishing later does not close it', async () => {
    const first = deferred<string>();
    const second = deferred<string>();
    const a = track(breaker.execute(() => first.promise));
    const b = track(breaker.execute(() => second.promise));
    first.reject(new DatabaseIoError());
    await a.done;
    expect(breaker.state).toBe('open');
    second.resolve('ok');
    await b.done;
    expect(breaker.state).toBe('open');
  });

  it('never has more than halfOpenMaxCalls trials in flight, even with a trial left over from the previous half-open period', async () => {
    // Trial B spans a whole reset period; only its outcome matters here, not its duration.
    breaker = breakerWith(clock, { halfOpenMaxCalls: 2, slowCallDurationMs: 10 * RESET_MS });
    await fail(breaker, 5);
    clock.advance(RESET_MS);
    let inFlight = 0;
    let maxInFlight = 0;
    const running = (gate: Deferred<string>) => async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        return await gate.promise;
      } finally {
        inFlight--;
      }
    };
    // Period 1: trials A and B; A fails and reopens the circuit while B is still running.
    const gateA = deferred<string>();
    const gateB = deferred<string>();
    const a = track(breaker.execute(running(gateA)));
    const b = track(breaker.execute(running(gateB)));
    gateA.reject(new DatabaseIoError());
    await a.done;
    expect(breaker.state).toBe('open');
    // Period 2: two new trials, C and D, while B is still running.
    clock.advance(RESET_MS);
    const gateC = deferred<string>();
    const gateD = deferred<string>();
    const c = track(breaker.execute(running(gateC)));
    const d = track(breaker.execute(running(gateD)));
    await flush();
    // B, left over from period 1, now succeeds. It must not free a slot of period 2, nor count
    // as one of period 2's successful trials.
    gateB.resolve('late');
    await b.done;
    const e = track(breaker.execute(running(deferred<string>())));
    await flush();
    expect(e.outcome).toEqual({ error: expect.any(CircuitOpenError) });
    expect(maxInFlight).toBeLessThanOrEqual(3);
    gateC.resolve('ok');
    await c.done;
    expect(breaker.state).toBe('half-open');
    gateD.resolve('ok');
    await d.done;
    expect(breaker.state).toBe('closed');
  });
});

describe('CircuitBreaker operator controls', () => {
  it('open() and close() force the state and notify listeners; unsubscribe stops events', async () => {
    const clock = new FakeClock();
    const breaker = breakerWith(clock);
    const states: CircuitState[] = [];
    const off = breaker.onStateChange((state) => states.push(state));
    breaker.open();
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    breaker.close();
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    off();
    breaker.open();
    expect(states).toEqual(['open', 'closed']);
  });
});

describe('CircuitBreaker: the synchronous permit API (tryAcquire / record)', () => {
  it('lets calls through while closed and opens after the failure threshold', () => {
    const breaker = breakerWith(new FakeClock(), { failureThreshold: 3 });
    for (let i = 0; i < 2; i++) breaker.record(breaker.tryAcquire()!, true);
    expect(breaker.state).toBe('closed');
    breaker.record(breaker.tryAcquire()!, false); // a success resets the run of failures
    for (let i = 0; i < 2; i++) breaker.record(breaker.tryAcquire()!, true);
    expect(breaker.state).toBe('closed');
    breaker.record(breaker.tryAcquire()!, true);
    expect(breaker.state).toBe('open');
  });

  it('rejects while open without throwing, and counts each rejection', () => {
    const breaker = breakerWith(new FakeClock(), { failureThreshold: 1 });
    breaker.record(breaker.tryAcquire()!, true);
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.info()).toMatchObject({ state: 'open', rejected: 2 });
  });

  it('lets one trial through after the reset time: its success closes, its failure reopens', () => {
    const clock = new FakeClock();
    const breaker = breakerWith(clock, { failureThreshold: 1, halfOpenMaxCalls: 1 });
    breaker.record(breaker.tryAcquire()!, true);
    clock.advance(RESET_MS);
    const trial = breaker.tryAcquire();
    expect(trial).toBeDefined();
    expect(breaker.tryAcquire()).toBeUndefined(); // only one trial at a time
    breaker.record(trial!, true);
    expect(breaker.state).toBe('open');
    clock.advance(RESET_MS);
    breaker.record(breaker.tryAcquire()!, false);
    expect(breaker.state).toBe('closed');
  });

  it('counts a permitted call slower than slowCallDurationMs as slow, like execute', () => {
    const clock = new FakeClock();
    const breaker = breakerWith(clock, {
      slowCallDurationMs: 100,
      slowCallWindow: 2,
      slowCallRateThreshold: 1,
    });
    for (let i = 0; i < 2; i++) {
      const permit = breaker.tryAcquire()!;
      clock.advance(150);
      breaker.record(permit, false);
    }
    expect(breaker.state).toBe('open');
  });
});
