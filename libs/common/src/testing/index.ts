import type { LoggerService } from '@nestjs/common';

/** Swallows an application's log lines (Redis reconnect warnings and the like). */
export class SilentLogger implements LoggerService {
  log(): void {}
  warn(): void {}
  error(): void {}
  debug(): void {}
  verbose(): void {}
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise and the function that resolves it. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves every caller once `n` have arrived; later callers (reruns) pass straight through. */
export function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived >= n) open();
    return opened;
  };
}

/** What `promise` settled to, without throwing. */
export function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}
