/** Stops a timer started on a {@link PoolClock}; calling it again, or after it fired, does nothing. */
export type CancelTimer = () => void;

/**
 * The pool's source of time: the acquire timeout, the idle sweeper, idle ages and the acquire-wait
 * statistics all read it, so specs can inject a fake one and move time forward instead of
 * sleeping. Default {@link systemPoolClock}. (The per-statement watchdog of `queryTimeoutMs` and
 * the reopen backoff after an invalidated database still run on the process's own timers.)
 *
 * @example
 * new DuckDbPool(instance, { ...options, clock: fakeClock })
 */
export interface PoolClock {
  /** Milliseconds since an arbitrary origin; never goes backwards. */
  now(): number;
  /** Calls `fn` once, `ms` from now. */
  setTimeout(fn: () => void, ms: number): CancelTimer;
  /**
   * Calls `fn` every `ms` until cancelled. A promise `fn` returns is not awaited by the system
   * clock (a fake clock may await it, so that a spec sees the sweep finish).
   */
  setInterval(fn: () => unknown, ms: number): CancelTimer;
}

/**
 * The real clock: `performance.now()` (monotonic, sub-millisecond) and Node's timers. Its
 * interval never keeps the process alive; its one-shot timers do, like `setTimeout`.
 */
export const systemPoolClock: PoolClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  setInterval: (fn, ms) => {
    const timer = setInterval(() => void fn(), ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};
