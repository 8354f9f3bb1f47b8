import { Injectable, Optional } from '@nestjs/common';
import { DuckDbPool } from '@lib/duckdb';
import { TransactionManager } from '@lib/transactions';
import { MetricsService } from './metrics.service';
import { observedCounter, observedGauge, observedLabelledCounter } from './stats.metrics';

/**
 * Pool and transaction metrics of `@lib/duckdb`, read from `DuckDbPool.stats()` and
 * `TransactionManager.stats()` at scrape time (nothing is added to the query path). Registered
 * only for the parts the application has (`DuckDbModule` registered globally).
 *
 * Pool: `duckdb_pool_connections{state="idle|in_use"}`, `duckdb_pool_size`, `duckdb_pool_min`,
 * `duckdb_pool_max`, `duckdb_pool_waiting`, `duckdb_pool_{created,acquired,released,timeouts,
 * health_checks,health_check_failures}_total`, `duckdb_pool_acquire_{avg,max}_seconds`.
 *
 * Transactions: `duckdb_transactions_total{outcome="committed|rolled_back"}`,
 * `duckdb_transactions_started_total`, `duckdb_transaction_{retries,conflicts,timeouts,
 * hook_failures}_total`, `duckdb_transactions_active`.
 */
@Injectable()
export class DatabaseMetrics {
  constructor(
    metrics: MetricsService,
    @Optional() pool?: DuckDbPool,
    @Optional() transactions?: TransactionManager,
  ) {
    if (pool) registerPoolMetrics(metrics, pool);
    if (transactions) registerTransactionMetrics(metrics, transactions);
  }
}

function registerPoolMetrics(metrics: MetricsService, pool: DuckDbPool): void {
  const stats = () => pool.stats();
  observedGauge(
    metrics,
    'duckdb_pool_connections',
    'Open DuckDB connections by state.',
    () => {
      const { idle, inUse } = stats();
      return [
        [{ state: 'idle' }, idle],
        [{ state: 'in_use' }, inUse],
      ];
    },
    ['state'],
  );
  observedGauge(metrics, 'duckdb_pool_size', 'Open DuckDB connections.', () => stats().size);
  observedGauge(metrics, 'duckdb_pool_min', 'Configured pool minimum.', () => stats().min);
  observedGauge(metrics, 'duckdb_pool_max', 'Configured pool maximum.', () => stats().max);
  observedGauge(
    metrics,
    'duckdb_pool_waiting',
    'Callers waiting for a connection.',
    () => stats().waiting,
  );
  const counters = [
    ['created', 'Connections opened.', () => stats().created],
    ['acquired', 'Connections lent to callers.', () => stats().acquired],
    ['released', 'Connections given back by callers.', () => stats().released],
    ['timeouts', 'Callers that gave up waiting for a connection.', () => stats().timeouts],
    ['health_checks', 'Connection health checks run.', () => stats().healthChecks],
    ['health_check_failures', 'Failed health checks.', () => stats().healthCheckFailures],
  ] as const;
  for (const [name, help, read] of counters) {
    observedCounter(metrics, `duckdb_pool_${name}_total`, help, read);
  }
  observedGauge(
    metrics,
    'duckdb_pool_acquire_avg_seconds',
    'Mean time callers waited for a connection, since start.',
    () => stats().avgAcquireMs / 1000,
  );
  observedGauge(
    metrics,
    'duckdb_pool_acquire_max_seconds',
    'Longest time a caller waited for a connection, since start.',
    () => stats().maxAcquireMs / 1000,
  );
}

function registerTransactionMetrics(metrics: MetricsService, manager: TransactionManager): void {
  const stats = () => manager.stats();
  observedLabelledCounter(
    metrics,
    'duckdb_transactions_total',
    'Finished transactions by outcome.',
    ['outcome'],
    () => {
      const { committed, rolledBack } = stats();
      return [
        [{ outcome: 'committed' }, committed],
        [{ outcome: 'rolled_back' }, rolledBack],
      ];
    },
  );
  observedCounter(
    metrics,
    'duckdb_transactions_started_total',
    'Transactions begun.',
    () => stats().started,
  );
  observedCounter(
    metrics,
    'duckdb_transaction_retries_total',
    'Transaction reruns after a write-write conflict.',
    () => stats().retried,
  );
  observedCounter(
    metrics,
    'duckdb_transaction_conflicts_total',
    'Write-write conflicts met.',
    () => stats().conflicts,
  );
  observedCounter(
    metrics,
    'duckdb_transaction_timeouts_total',
    'Transactions that outran their timeout.',
    () => stats().timeouts,
  );
  observedCounter(
    metrics,
    'duckdb_transaction_hook_failures_total',
    'afterCommit/afterRollback hooks that threw.',
    () => stats().hookFailures,
  );
  observedGauge(
    metrics,
    'duckdb_transactions_active',
    'Transactions in progress.',
    () => stats().active,
  );
}
