import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import {
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  type Metric,
  Registry,
  collectDefaultMetrics,
} from 'prom-client';
import { METRICS_MODULE_OPTIONS } from './metrics.module-definition';
import { METRICS_DEFAULTS, PROMETHEUS_CONTENT_TYPE } from './observability.constants';
import type { MetricsCollector, MetricsModuleOptions } from './observability.interfaces';

/** A metric's configuration without `registers`: {@link MetricsService} registers it itself. */
type Config<C> = Omit<C, 'registers'>;

/**
 * The application's metrics: one prom-client {@link Registry} per module instance (never the
 * global default one, so several applications in one process keep separate counts), plus
 * collectors that refresh values read from elsewhere right before each scrape.
 *
 * Other libraries inject it to add their own metrics.
 *
 * @example
 * const state = metrics.gauge({ name: 'circuit_breaker_open', help: '1 while open', labelNames: ['breaker'] });
 * metrics.registerCollector(() => {
 *   for (const c of breakers.list()) state.set({ breaker: c.name }, c.state === 'open' ? 1 : 0);
 * });
 */
@Injectable()
export class MetricsService implements OnApplicationShutdown {
  /** The registry `GET /metrics` exposes. */
  readonly registry = new Registry();
  /** The `Content-Type` of {@link scrape}'s text. */
  readonly contentType = PROMETHEUS_CONTENT_TYPE;
  private readonly logger = new Logger('Metrics');
  private readonly collectors = new Set<MetricsCollector>();

  constructor(@Inject(METRICS_MODULE_OPTIONS) options: MetricsModuleOptions) {
    if (options.defaultMetrics ?? METRICS_DEFAULTS.defaultMetrics) {
      collectDefaultMetrics({ register: this.registry });
    }
  }

  /**
   * Runs `collector` before every scrape, until the returned function is called.
   * @returns a function that removes the collector.
   */
  registerCollector(collector: MetricsCollector): () => void {
    this.collectors.add(collector);
    return () => this.collectors.delete(collector);
  }

  /** A counter in this registry; the one already registered under that name if there is one. */
  counter<L extends string = string>(config: Config<CounterConfiguration<L>>): Counter<L> {
    return this.existing(config.name) ?? new Counter({ ...config, registers: [this.registry] });
  }

  /** A gauge in this registry; the one already registered under that name if there is one. */
  gauge<L extends string = string>(config: Config<GaugeConfiguration<L>>): Gauge<L> {
    return this.existing(config.name) ?? new Gauge({ ...config, registers: [this.registry] });
  }

  /** A histogram in this registry; the one already registered under that name if there is one. */
  histogram<L extends string = string>(config: Config<HistogramConfiguration<L>>): Histogram<L> {
    return this.existing(config.name) ?? new Histogram({ ...config, registers: [this.registry] });
  }

  /** Runs the collectors, then renders every metric in the Prometheus text format. */
  async scrape(): Promise<string> {
    for (const collector of this.collectors) {
      try {
        await collector();
      } catch (error) {
        // One broken source must not hide every other metric.
        this.logger.warn(`A metrics collector failed: ${String(error)}`);
      }
    }
    return this.registry.metrics();
  }

  onApplicationShutdown(): void {
    this.collectors.clear();
    this.registry.clear();
  }

  private existing<T extends Metric>(name: string): T | undefined {
    return this.registry.getSingleMetric(name) as T | undefined;
  }
}
