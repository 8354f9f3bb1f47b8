/** Base of every error `@lib/resilience` raises itself. */
export abstract class ResilienceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The named circuit is open (or half-open with its trial calls taken): the call was not made. */
export class CircuitOpenError extends ResilienceError {
  constructor(
    /** The circuit's name. */
    readonly circuit: string,
    /** How long until the circuit lets a trial call through, in ms. */
    readonly retryAfterMs: number,
  ) {
    super(`The "${circuit}" circuit is open; the call was not attempted. Retry later.`);
  }
}

/** The work outran its `@Timeout` and was aborted. */
export class OperationTimeoutError extends ResilienceError {
  constructor(readonly timeoutMs: number) {
    super(`The operation exceeded its ${timeoutMs} ms timeout and was aborted.`);
  }
}

/** The caller's deadline had already passed: the call was not made. Neither transient nor a failure. */
export class CallAbortedError extends ResilienceError {
  constructor() {
    super('The caller gave up (its deadline passed); the call was not made.');
  }
}
