import { Injectable } from '@nestjs/common';
import { type DuckDbCallGuard, type DuckDbCallInfo, statementSignalStorage } from '@lib/duckdb';
import { CallAbortedError } from './resilience.errors';
import type { CircuitBreaker } from './circuit-breaker';
import { ResiliencePolicies } from './resilience-policies';
import { DATABASE_CIRCUIT } from './resilience.constants';
import type { RetryPolicy } from './retry.policy';

/**
 * Guards every `DuckDbClient` statement: the `database` breaker first (while it is open,
 * statements fail at once with `CircuitOpenError`, which the API answers 503 with `Retry-After`,
 * instead of queueing on a broken database), and retries of failed reads outside transactions.
 * Writes are never retried here (one may have landed), and inside a transaction only the owning
 * scope reruns work.
 */
@Injectable()
export class DatabaseCallGuard implements DuckDbCallGuard {
  private readonly breaker: CircuitBreaker;
  private readonly retry: RetryPolicy;

  constructor(policies: ResiliencePolicies) {
    this.breaker = policies.get(DATABASE_CIRCUIT);
    this.retry = policies.retry(DATABASE_CIRCUIT);
  }

  run<T>(call: () => Promise<T>, info: DuckDbCallInfo): Promise<T> {
    // A caller whose deadline (@Timeout) passed gets no new statement, and no retries: nobody
    // waits for the answer, and it says nothing about the database's health.
    const signal = statementSignalStorage.getStore();
    if (signal?.aborted) return Promise.reject(new CallAbortedError());
    if (info.inTransaction || !info.returnsRows) return this.breaker.execute(call);
    return this.retry.execute(() => this.breaker.execute(call), signal);
  }
}
