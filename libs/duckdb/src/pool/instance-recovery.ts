import { type BackoffOptions, backoffDelay } from '@lib/common';
import type { Logger } from '@nestjs/common';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { PoolDrainingError } from '../duckdb.errors';

/** Waits between attempts to reopen an invalidated database: 250 ms doubling to 5 s. */
const REOPEN_BACKOFF: BackoffOptions = { baseDelayMs: 250, maxDelayMs: 5_000, jitter: 'none' };

/** What the pool does at each step of a recovery. */
export interface RecoverySteps {
  /** True once the pool drains: recovery stops trying. */
  draining(): boolean;
  /** The new instance, open: connections come from it from now on. */
  adopt(instance: DuckDBInstance): void;
  /** An attempt failed: answer waiters now instead of letting them wait for nothing. */
  failed(): void;
  /** Recovery ended (reopened, or given up because the pool drains). */
  finished(): void;
}

/**
 * The pool's reopening of a database that DuckDB invalidated: one recovery at a time, attempts
 * spaced by capped exponential backoff until one succeeds or the pool drains. `generation`
 * numbers the instances, so a late report from a connection of a replaced instance is ignored.
 */
export class InstanceRecovery {
  /** Which instance connections come from: bumped by each reopen. */
  generation = 0;
  /** True once an attempt failed, until recovery ends: callers get a 503 at once. */
  failing = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly logger: Logger) {}

  /** The recovery in progress, if any (`open()` waits for it). */
  get inProgress(): Promise<void> | undefined {
    return this.running;
  }

  /**
   * Connects to the current instance, never to one being replaced: waits for a recovery in
   * progress, and retries when the instance was replaced while connecting. Returns the connection
   * with the generation of the instance it belongs to.
   * @throws PoolDrainingError when the pool started draining while it waited.
   */
  async connect(
    current: () => DuckDBInstance,
    draining: () => boolean,
  ): Promise<{ raw: DuckDBConnection; generation: number }> {
    for (;;) {
      if (this.running) {
        while (this.running) await this.running;
        if (draining()) throw new PoolDrainingError();
      }
      const generation = this.generation;
      const replaced = () => generation !== this.generation || this.running !== undefined;
      let raw: DuckDBConnection;
      try {
        raw = await current().connect();
      } catch (error) {
        // The instance was closed for a reopen while connecting: wait for the new one.
        if (replaced()) continue;
        throw error;
      }
      if (!replaced()) return { raw, generation };
      // The instance was replaced (or is being replaced) while connecting: not this one.
      raw.closeSync();
    }
  }

  /** Cuts the wait before the next attempt short (the pool is draining). */
  wakeUp(): void {
    this.wake?.();
  }

  /** Starts reopening with `reopen` unless a recovery is already running. */
  start(reopen: () => Promise<DuckDBInstance>, steps: RecoverySteps): void {
    if (this.running) return;
    this.logger.error(
      'DuckDB invalidated the database after a fatal error; reopening it (as a restart would)',
    );
    this.running = this.attempts(reopen, steps).finally(() => {
      this.running = undefined;
      this.failing = false;
      steps.finished();
    });
  }

  private async attempts(
    reopen: () => Promise<DuckDBInstance>,
    steps: RecoverySteps,
  ): Promise<void> {
    for (let attempt = 0; !steps.draining(); attempt++) {
      try {
        steps.adopt(await reopen());
        this.generation++;
        this.logger.warn('Reopened the DuckDB database after it was invalidated');
        return;
      } catch (error) {
        this.failing = true;
        steps.failed();
        const waitMs = backoffDelay(attempt, 0, REOPEN_BACKOFF);
        this.logger.error(
          `Reopening the DuckDB database failed (next try in ${waitMs} ms): ${String(error)}`,
        );
        await this.pause(waitMs);
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }
}
