import type { CancelTimer, PoolClock } from './pool-clock';
import type { PooledConnection } from './pooled-connection';

/** A caller waiting for a connection. */
export interface Waiter {
  resolve: (connection: PooledConnection) => void;
  reject: (error: Error) => void;
  /** Cancels its acquire timeout (none when `acquireTimeoutMs` is 0). */
  cancelTimer?: CancelTimer;
  /** When it started waiting (the pool clock's `now()`). */
  enqueuedAt: number;
}

/**
 * The pool's callers waiting for a connection, first come, first served. A head index instead of
 * `Array.shift()` keeps taking the oldest O(1) under long queues; the consumed prefix is dropped
 * once it is both long and most of the array.
 */
export class WaiterQueue {
  private readonly items: Waiter[] = [];
  private head = 0;

  /** How many are waiting. */
  get length(): number {
    return this.items.length - this.head;
  }

  push(waiter: Waiter): void {
    this.items.push(waiter);
  }

  /**
   * Queues a caller and answers the promise it waits on; after `timeoutMs` (never when 0) the
   * clock calls `expire` with it.
   */
  enqueue(
    clock: PoolClock,
    timeoutMs: number,
    expire: (waiter: Waiter) => void,
  ): Promise<PooledConnection> {
    return new Promise<PooledConnection>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, enqueuedAt: clock.now() };
      if (timeoutMs > 0) waiter.cancelTimer = clock.setTimeout(() => expire(waiter), timeoutMs);
      this.push(waiter);
    });
  }

  /** Takes the oldest waiter, if any. */
  shift(): Waiter | undefined {
    if (this.head >= this.items.length) return undefined;
    const waiter = this.items[this.head];
    this.items[this.head] = undefined as unknown as Waiter;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return waiter;
  }

  /** Turns the oldest waiter away with `error`, cancelling its timeout; false when none waits. */
  rejectNext(error: Error): boolean {
    const waiter = this.shift();
    if (!waiter) return false;
    waiter.cancelTimer?.();
    waiter.reject(error);
    return true;
  }

  /** Turns every waiter away with `error`. */
  rejectAll(error: Error): void {
    while (this.rejectNext(error));
  }

  /** Removes `waiter` (it gave up); false when it was no longer waiting. */
  remove(waiter: Waiter): boolean {
    const index = this.items.indexOf(waiter, this.head);
    if (index < 0) return false;
    this.items.splice(index, 1);
    return true;
  }
}
