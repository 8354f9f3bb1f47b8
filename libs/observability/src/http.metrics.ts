import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { METRICS_MODULE_OPTIONS } from './metrics.module-definition';
import { MetricsService } from './metrics.service';
import { METRICS_DEFAULTS, UNMATCHED_ROUTE } from './observability.constants';
import type { MetricsModuleOptions } from './observability.interfaces';
import { RequestSeries } from './request-series';

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
  private readonly series: RequestSeries;

  constructor(
    metrics: MetricsService,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(METRICS_MODULE_OPTIONS) options: MetricsModuleOptions,
  ) {
    const bounds = [...(options.httpDurationBuckets ?? METRICS_DEFAULTS.httpDurationBuckets)];
    this.series = new RequestSeries(
      'http_request_duration_seconds',
      'http_requests_total',
      bounds.sort((a, b) => a - b),
    );
    this.series.register(metrics.registry, {
      histogram: 'Time from receiving a request to sending its response, in seconds.',
      counter: 'Requests answered.',
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
    const route = (!request.is404 && request.routeOptions.url) || UNMATCHED_ROUTE;
    this.series.record(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  }

  /**
   * Records requests answered outside Fastify's hooks (from the server's own listener, such as
   * kept responses sent by `ResponseCache.answerEarly`) of one method, route pattern and status:
   * the function records one request given its seconds, the series looked up once.
   */
  answeredRecorder(method: string, route: string, statusCode: number): (seconds: number) => void {
    return this.series.recorder(method, route, statusCode);
  }
}
