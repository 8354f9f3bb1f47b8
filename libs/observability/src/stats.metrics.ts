import type { Counter, Gauge } from 'prom-client';
import type { MetricsService } from './metrics.service';

/** Label values and the number read for them. */
export type Sample<L extends string> = [labels: Partial<Record<L, string>>, value: number];

/**
 * A counter whose value is read at scrape time from a monotonic source (a `stats()` snapshot).
 * It stays a Prometheus `counter`, so `rate()` works: each scrape resets it and adds the total.
 *
 * @example
 * observedCounter(metrics, 'duckdb_pool_timeouts_total', 'Acquire timeouts.', () => pool.stats().timeouts);
 */
export function observedCounter(
  metrics: MetricsService,
  name: string,
  help: string,
  read: () => number,
): Counter {
  return metrics.counter({
    name,
    help,
    collect(this: Counter) {
      this.reset();
      this.inc(read());
    },
  });
}

/** {@link observedCounter} with labels: `read` gives one sample per label set. */
export function observedLabelledCounter<L extends string>(
  metrics: MetricsService,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Sample<L>[],
): Counter<L> {
  return metrics.counter<L>({
    name,
    help,
    labelNames,
    collect(this: Counter<L>) {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

/** A gauge set at scrape time from `read`, with or without labels. */
export function observedGauge<L extends string = never>(
  metrics: MetricsService,
  name: string,
  help: string,
  read: () => number | Sample<L>[],
  labelNames: readonly L[] = [],
): Gauge<L> {
  return metrics.gauge<L>({
    name,
    help,
    labelNames,
    collect(this: Gauge<L>) {
      const value = read();
      if (typeof value === 'number') this.set(value);
      else for (const [labels, sample] of value) this.set(labels, sample);
    },
  });
}
