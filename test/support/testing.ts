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
