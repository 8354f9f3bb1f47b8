import type { AddressInfo } from 'node:net';
import { Controller, type DynamicModule, Get, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { QueryCacheStats } from '@lib/query-cache';
import { createApp, fastifyAdapterOptions } from '../../apps/api/src/bootstrap';
import type { AppConfig } from '../../apps/api/src/config/app-config';
import type { HttpLoadOptions } from '../support/http-load';
import type { CacheDelta, RunningApp, Settings } from './types';

/** The real application built by `createApp` for `env`, listening on a loopback port. */
export async function startApp(env: NodeJS.ProcessEnv): Promise<Required<RunningApp>> {
  const { app, config } = await createApp(env);
  await app.listen(0, '127.0.0.1');
  return { app, config, origin: originOf(app) };
}

const BARE_BODY = 'BENCH:BARE_BODY';

/** Serves one fixed JSON object on the same route shape as the app's active-model read. */
@Controller('api/v1/usage-types')
class BareController {
  constructor(@Inject(BARE_BODY) private readonly body: Record<string, unknown>) {}

  @Get(':usageType/active')
  active(): Record<string, unknown> {
    return this.body;
  }
}

@Module({ controllers: [BareController] })
class BareModule {
  static serving(body: Record<string, unknown>): DynamicModule {
    return { module: BareModule, providers: [{ provide: BARE_BODY, useValue: body }] };
  }
}

/**
 * Nest on Fastify with the app's adapter options for `config` (`fastifyAdapterOptions`: limits,
 * request ids, timeouts, error handlers) and nothing else: no hooks, guard, pipe, filter,
 * Swagger or cache.
 */
export async function startBareApp(
  body: Record<string, unknown>,
  config: AppConfig,
): Promise<RunningApp> {
  const adapter = new FastifyAdapter(fastifyAdapterOptions(config));
  const app = await NestFactory.create<NestFastifyApplication>(BareModule.serving(body), adapter, {
    bodyParser: false,
    abortOnError: false,
    logger: false,
  });
  await app.listen(0, '127.0.0.1');
  return { app, origin: originOf(app) };
}

function originOf(app: NestFastifyApplication): string {
  const address = app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${address.port}`;
}

/** autocannon's options for one window (or the warm-up) of `path` on `target`. */
export function httpOptions(
  target: RunningApp,
  path: string,
  settings: Settings,
  warmup: boolean,
): HttpLoadOptions {
  return {
    url: `${target.origin}${path}`,
    connections: settings.connections,
    durationS: warmup ? settings.warmupS : settings.durationS,
  };
}

/** `GET url` as JSON; throws on a non-2xx status. */
export async function getJson<T = unknown>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** The change of the cache counters from `before` to `after`. */
export function cacheDelta(before: QueryCacheStats, after: QueryCacheStats): CacheDelta {
  return {
    hits: after.hits - before.hits,
    misses: after.misses - before.misses,
    bypassed: after.bypassed - before.bypassed,
    errors: after.errors - before.errors,
    breakerAfter: after.breaker,
  };
}

/** The app's `/health/cache` counters. */
export function cacheStats(origin: string): Promise<QueryCacheStats> {
  return getJson<QueryCacheStats>(`${origin}/health/cache`);
}

/** Waits until the app's cache store is connected (Redis connects in the background). */
export async function waitForCache(origin: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if ((await cacheStats(origin)).connected) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`The cache store of ${origin} did not connect within 10 s`);
}
