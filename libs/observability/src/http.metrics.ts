import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Counter, Histogram } from 'prom-client';
import { METRICS_MODULE_OPTIONS } from './metrics.module-definition';
import { MetricsService } from './metrics.service';
import { METRICS_DEFAULTS, UNMATCHED_ROUTE } from './observability.constants';
import type { MetricsModuleOptions } from './observability.interfaces';

type HttpLabel = 'method' | 'route' | 'status_code';

/**
 * `http_request_duration_seconds` (histogram) and `http_requests_total` (counter), labelled by
 * `method`, `route` and `status_code`. `route` is the route pattern
 * (`/api/v1/model-configs/:id`), never the raw URL, and `unmatched` for requests no route
 * matched, so the label set stays bounded whatever clients send.
 *
 * Recorded in a Fastify `onResponse` hook added when the module initialises (before the server
 * listens); with another HTTP adapter it records nothing and says so once.
 */
@Injectable()
export class HttpMetrics implements OnModuleInit {
  private readonly logger = new Logger('Metrics');
  private readonly duration: Histogram<HttpLabel>;
  private readonly total: Counter<HttpLabel>;

  constructor(
    metrics: MetricsService,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(METRICS_MODULE_OPTIONS) options: MetricsModuleOptions,
  ) {
    const labelNames: HttpLabel[] = ['method', 'route', 'status_code'];
    this.duration = metrics.histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to sending its response, in seconds.',
      labelNames,
      buckets: options.httpDurationBuckets ?? [...METRICS_DEFAULTS.httpDurationBuckets],
    });
    this.total = metrics.counter({
      name: 'http_requests_total',
      help: 'Requests answered.',
      labelNames,
    });
  }

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() !== 'fastify') {
      this.logger.warn('HTTP metrics need the Fastify adapter; none will be recorded.');
      return;
    }
    adapter.getInstance<FastifyInstance>().addHook('onResponse', (request, reply, done) => {
      this.record(request, reply);
      done();
    });
  }

  /** Records one answered request. */
  record(request: FastifyRequest, reply: FastifyReply): void {
    const labels = {
      method: request.method,
      route: (!request.is404 && request.routeOptions.url) || UNMATCHED_ROUTE,
      status_code: String(reply.statusCode),
    };
    this.duration.observe(labels, reply.elapsedTime / 1000);
    this.total.inc(labels);
  }
}
