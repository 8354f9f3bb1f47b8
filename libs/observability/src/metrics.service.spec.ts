import { Logger } from '@nestjs/common';
import { MetricsService } from './metrics.service';
import { observedCounter, observedGauge, observedLabelledCounter } from './stats.metrics';

describe('MetricsService', () => {
  const create = () => new MetricsService({ defaultMetrics: false });

  it('keeps a registry per instance', async () => {
    const a = create();
    const b = create();
    a.counter({ name: 'things_total', help: 'Things.' }).inc(2);
    b.counter({ name: 'things_total', help: 'Things.' }).inc(5);
    expect(await a.scrape()).toContain('things_total 2');
    expect(await b.scrape()).toContain('things_total 5');
  });

  it('returns the metric already registered under a name', () => {
    const metrics = create();
    const first = metrics.gauge({ name: 'depth', help: 'Depth.' });
    expect(metrics.gauge({ name: 'depth', help: 'Depth.' })).toBe(first);
  });

  it('runs collectors before each scrape, survives a failing one, and can remove them', async () => {
    const metrics = create();
    const gauge = metrics.gauge({ name: 'open_breakers', help: 'Open breakers.' });
    let open = 1;
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const remove = metrics.registerCollector(() => gauge.set(open));
    metrics.registerCollector(() => {
      throw new Error('broken source');
    });
    expect(await metrics.scrape()).toContain('open_breakers 1');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('broken source'));
    open = 3;
    expect(await metrics.scrape()).toContain('open_breakers 3');
    remove();
    open = 7;
    expect(await metrics.scrape()).toContain('open_breakers 3');
    warn.mockRestore();
  });

  it('exposes values read at scrape time as counters and gauges', async () => {
    const metrics = create();
    const source = { done: 4, failed: 1, waiting: 2 };
    observedCounter(metrics, 'jobs_done_total', 'Jobs done.', () => source.done);
    observedLabelledCounter(metrics, 'jobs_total', 'Jobs.', ['outcome'], () => [
      [{ outcome: 'ok' }, source.done],
      [{ outcome: 'failed' }, source.failed],
    ]);
    observedGauge(metrics, 'jobs_waiting', 'Waiting jobs.', () => source.waiting);
    let text = await metrics.scrape();
    expect(text).toContain('# TYPE jobs_done_total counter');
    expect(text).toContain('jobs_done_total 4');
    expect(text).toContain('jobs_total{outcome="failed"} 1');
    expect(text).toContain('jobs_waiting 2');
    source.done = 9;
    source.waiting = 0;
    text = await metrics.scrape();
    // The absolute value, not a sum of scrapes.
    expect(text).toContain('jobs_done_total 9');
    expect(text).toContain('jobs_total{outcome="ok"} 9');
    expect(text).toContain('jobs_waiting 0');
  });

  it('includes the default Node.js metrics unless disabled', async () => {
    const withDefaults = new MetricsService({});
    expect(await withDefaults.scrape()).toContain('nodejs_eventloop_lag_seconds');
    expect(await create().scrape()).not.toContain('nodejs_eventloop_lag_seconds');
    withDefaults.onApplicationShutdown();
  });
});
