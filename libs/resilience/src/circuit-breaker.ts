import type { Clock } from './clock';
import { CircuitOpenError } from './resilience.errors';
import type { BreakerOptions, CircuitInfo } from './resilience.interfaces';

/** A circuit's state. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** 0: a call made while closed; n > 0: a trial call of half-open period n. */
type Permit = number;

/** A call let through by {@link CircuitBreaker.tryAcquire}, to report with `record`. */
export interface CallPermit {
  readonly trial: Permit;
  readonly startedAt: number;
}

/**
 * A circuit breaker with an injectable clock:
 *
 * - **closed**: calls run. It opens after `failureThreshold` consecutive failures, or when at
 *   least `slowCallRateThreshold` of the last `slowCallWindow` calls took `slowCallDurationMs` or
 *   longer — so a degrading dependency opens it before its calls start timing out.
 * - **open**: calls are rejected at once with `CircuitOpenError` (which says when to retry),
 *   without reaching the dependency, for `resetTimeoutMs`.
 * - **half-open**: up to `halfOpenMaxCalls` trial calls run at a time; every other call is
 *   rejected at once (not queued). That many successful trials close the circuit; one failed or
 *   slow trial opens it again.
 *
 * Only errors that `isFailure` accepts count as failures (a constraint violation says nothing
 * about the dependency's health). No timers: state changes happen on calls and reads.
 */
export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private openedAtMs = 0;
  private openedAtIso: string | null = null;
  private consecutiveFailures = 0;
  private failuresSinceClose = 0;
  private successes = 0;
  private rejected = 0;
  private trialsInFlight = 0;
  private trialSuccesses = 0;
  /** Numbers the half-open periods, so a trial from an earlier one cannot count in this one. */
  private period = 0;
  private readonly window: boolean[] = [];
  private windowSlow = 0;
  private readonly listeners: ((state: CircuitState) => void)[] = [];

  constructor(
    /** The circuit's name, e.g. `database`. */
    readonly name: string,
    private readonly options: Required<BreakerOptions>,
    private readonly clock: Clock,
    private readonly isFailure: (error: unknown) => boolean,
  ) {}

  /** The state now; an open circuit past its reset timeout reads as half-open. */
  get state(): CircuitState {
    if (
      this.current === 'open' &&
      this.clock.now() - this.openedAtMs >= this.options.resetTimeoutMs
    ) {
      return 'half-open';
    }
    return this.current;
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  onStateChange(listener: (state: CircuitState) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /**
   * Runs `fn` if the circuit lets it, and records the outcome.
   * @throws CircuitOpenError when the call was not let through.
   */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    const permit = this.acquire();
    const started = this.clock.now();
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      if (this.isFailure(error)) this.recordFailure(permit);
      else this.recordSuccess(permit, this.clock.now() - started);
      throw error;
    }
    this.recordSuccess(permit, this.clock.now() - started);
    return value;
  }

  /**
   * The synchronous form of {@link execute}, for hot paths that cannot afford a promise per call
   * (the query cache's store calls): a permit when the call may go ahead, `undefined` when the
   * circuit rejects it (counted as rejected, as `execute` would). Report the call's outcome with
   * {@link record}, exactly once per permit.
   */
  tryAcquire(): CallPermit | undefined {
    try {
      return { trial: this.acquire(), startedAt: this.clock.now() };
    } catch (error) {
      if (error instanceof CircuitOpenError) return undefined;
      throw error;
    }
  }

  /** Records the outcome of a call made under `permit` (see {@link tryAcquire}). */
  record(permit: CallPermit, failed: boolean): void {
    if (failed) this.recordFailure(permit.trial);
    else this.recordSuccess(permit.trial, this.clock.now() - permit.startedAt);
  }

  /** What `GET /health/circuits` shows. */
  info(): CircuitInfo {
    return {
      name: this.name,
      state: this.state,
      failures: this.current === 'closed' ? this.consecutiveFailures : this.failuresSinceClose,
      successes: this.successes,
      rejected: this.rejected,
      openedAt: this.current === 'closed' ? null : this.openedAtIso,
    };
  }

  /** Opens the circuit now (operators, tests). */
  open(): void {
    this.transition('open');
  }

  /** Closes the circuit now (operators, tests). */
  close(): void {
    this.transition('closed');
  }

  private acquire(): Permit {
    const state = this.state;
    if (state === 'closed') return 0;
    if (state === 'open') {
      this.rejected++;
      const retryAfterMs = this.options.resetTimeoutMs - (this.clock.now() - this.openedAtMs);
      throw new CircuitOpenError(this.name, Math.max(0, retryAfterMs));
    }
    if (this.current === 'open') this.transition('half-open');
    if (this.trialsInFlight >= this.options.halfOpenMaxCalls) {
      this.rejected++;
      throw new CircuitOpenError(this.name, 0);
    }
    this.trialsInFlight++;
    return this.period;
  }

  private recordSuccess(permit: Permit, durationMs: number): void {
    this.successes++;
    const slow = durationMs >= this.options.slowCallDurationMs;
    if (permit !== 0) {
      if (permit !== this.period || this.current !== 'half-open') return;
      this.trialsInFlight--;
      if (slow) return this.transition('open');
      if (++this.trialSuccesses >= this.options.halfOpenMaxCalls) this.transition('closed');
      return;
    }
    if (this.current !== 'closed') return;
    this.consecutiveFailures = 0;
    this.observe(slow);
  }

  private recordFailure(permit: Permit): void {
    this.failuresSinceClose++;
    if (permit !== 0) {
      if (permit !== this.period || this.current !== 'half-open') return;
      this.trialsInFlight--;
      this.transition('open');
      return;
    }
    if (this.current !== 'closed') return;
    this.consecutiveFailures++;
    if (this.consecutiveFailures >= this.options.failureThreshold) this.transition('open');
    else this.observe(false);
  }

  /** Slides the window of recent calls and opens on a high rate of slow ones. */
  private observe(slow: boolean): void {
    this.window.push(slow);
    if (slow) this.windowSlow++;
    if (this.window.length > this.options.slowCallWindow && this.window.shift()) this.windowSlow--;
    if (
      this.window.length >= this.options.slowCallWindow &&
      this.windowSlow / this.window.length >= this.options.slowCallRateThreshold
    ) {
      this.transition('open');
    }
  }

  private transition(next: CircuitState): void {
    if (next === 'open') {
      this.openedAtMs = this.clock.now();
      this.openedAtIso = new Date().toISOString();
    }
    if (next === 'closed') {
      this.consecutiveFailures = 0;
      this.failuresSinceClose = 0;
      this.openedAtIso = null;
    }
    if (next !== 'half-open') {
      this.window.length = 0;
      this.windowSlow = 0;
    }
    this.trialSuccesses = 0;
    if (next === 'half-open') {
      this.trialsInFlight = 0;
      this.period++;
    }
    if (this.current === next) return;
    this.current = next;
    for (const listener of [...this.listeners]) listener(next);
  }
}
