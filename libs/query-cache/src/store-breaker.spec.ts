import { StoreBreaker } from '@lib/query-cache';

/** A clock the test moves by hand. */
class FakeClock {
  ms = 1_000_000;
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

const THRESHOLD = 3;
const RESET_MS = 1_000;

describe('StoreBreaker', () => {
  let clock: FakeClock;
  let breaker: StoreBreaker;

  const failTimes = (n: number): void => {
    for (let i = 0; i < n; i++) {
      expect(breaker.allow()).toBe(true);
      breaker.failure();
    }
  };

  beforeEach(() => {
    clock = new FakeClock();
    breaker = new StoreBreaker(THRESHOLD, RESET_MS, clock.now);
  });

  it('starts closed and lets every call through', () => {
    expect(breaker.state).toBe('closed');
    for (let i = 0; i < 100; i++) expect(breaker.allow()).toBe(true);
    expect(breaker.state).toBe('closed');
  });

  it('stays closed below the threshold of consecutive failures', () => {
    failTimes(THRESHOLD - 1);
    expect(breaker.state).toBe('closed');
    expect(breaker.allow()).toBe(true);
  });

  it('opens after threshold consecutive failures and then refuses every call', () => {
    failTimes(THRESHOLD);
    expect(breaker.state).toBe('open');
    for (let i = 0; i < 10; i++) expect(breaker.allow()).toBe(false);
    clock.advance(RESET_MS - 1);
    expect(breaker.state).toBe('open');
    expect(breaker.allow()).toBe(false);
  });

  it('a success resets the consecutive count', () => {
    failTimes(THRESHOLD - 1);
    expect(breaker.allow()).toBe(true);
    breaker.success();
    failTimes(THRESHOLD - 1);
    expect(breaker.state).toBe('closed');
    failTimes(1);
    expect(breaker.state).toBe('open');
  });

  it('reads as half-open after resetMs and lets exactly one trial through at a time', () => {
    failTimes(THRESHOLD);
    clock.advance(RESET_MS);
    expect(breaker.state).toBe('half-open');
    expect(breaker.allow()).toBe(true);
    expect(breaker.state).toBe('half-open');
    // A concurrent second caller while the trial is in flight.
    expect(breaker.allow()).toBe(false);
    expect(breaker.allow()).toBe(false);
  });

  it('closes when the trial succeeds, with a fresh failure count', () => {
    failTimes(THRESHOLD);
    clock.advance(RESET_MS);
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(true);
    failTimes(THRESHOLD - 1);
    expect(breaker.state).toBe('closed');
  });

  it('opens again, for another resetMs, when the trial fails', () => {
    failTimes(THRESHOLD);
    clock.advance(RESET_MS);
    expect(breaker.allow()).toBe(true);
    clock.advance(300);
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.allow()).toBe(false);
    // The reset period restarts at the failed trial.
    clock.advance(RESET_MS - 1);
    expect(breaker.state).toBe('open');
    expect(breaker.allow()).toBe(false);
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(false);
    breaker.success();
    expect(breaker.state).toBe('closed');
  });

  it('a single failed trial reopens it, whatever the count before', () => {
    failTimes(THRESHOLD);
    for (let round = 0; round < 3; round++) {
      clock.advance(RESET_MS);
      expect(breaker.allow()).toBe(true);
      breaker.failure();
      expect(breaker.state).toBe('open');
    }
  });

  it('with threshold 1, opens on the first failure', () => {
    breaker = new StoreBreaker(1, RESET_MS, clock.now);
    failTimes(1);
    expect(breaker.state).toBe('open');
  });
});
