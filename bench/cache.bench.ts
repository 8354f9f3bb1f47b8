import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { version as duckdbVersion } from '@duckdb/node-api';
import { DuckDbPool } from '@lib/duckdb';
import { getJson, startApp, startBareApp, waitForCache } from './cache/apps';
import { measureCached } from './cache/measure-cached';
import { measureMix } from './cache/measure-mix';
import { measureUncached } from './cache/measure-uncached';
import { type CacheReport, printReport } from './cache/report';
import {
  ACTIVE_PATH,
  type HttpSide,
  MIN_CACHED_RATIO,
  MIN_HIT_RATIO,
  type RunningApp,
  type Settings,
} from './cache/types';
import type { Benchmark, BenchContext } from './support/benchmark';
import { type BenchRedis, findRedisServer, startRedis } from './support/redis';

/**
 * HTTP throughput of the real application's cached read against a bare Nest + Fastify
 * application serving the same JSON, its uncached read against the raw driver, and the memory
 * cache's hit ratio under a steady read mix with 1% writes.
 *
 * - (a)/(b) `GET /api/v1/usage-types/embedding/active` on the app (`CACHE_STORE=memory`, and
 *   `redis` when `redis-server` is installed; and, for information, the memory store with the
 *   response cache off, `CACHE_RESPONSE_ENTRIES=0`: every hit through Nest's whole pipeline)
 *   against a bare app whose only controller returns
 *   the object fetched once from the app, on the same Fastify adapter options. autocannon runs
 *   in a child process (so it never shares the server's event loop) with the same settings on
 *   every side; the sides take turns, rotating, one window each per round.
 * - (c) The uncached path: `GET /api/v1/model-configs?usageType=embedding&limit=1`, a read the
 *   repository never caches, so every request runs one statement; against the same statement
 *   prepared on raw `@duckdb/node-api` connections of the same instance, one per pooled
 *   connection the app has (more callers could only queue), read in closed loops.
 *   (`CACHE_TTL_MS=1` was not used: single-flight makes concurrent requests share one load, and
 *   whether an entry has expired depends on timing, so the share of requests that reach the
 *   database would be unknown.)
 * - (d) A seeded mix over the cached reads (active, fallback chain, usage types, provider models,
 *   model validation, config by id) across the nine seeded usage types, one request in
 *   `--write-every` a `PATCH` of a config's `modelName`; the hit ratio comes from `/health/cache`
 *   before and after.
 */
const benchmark: Benchmark = {
  name: 'cache',
  description: 'cached HTTP reads against bare Nest + Fastify; uncached against raw DuckDB',
  options: [
    '--connections=50       autocannon connections',
    '--duration=2.5         seconds per window of (a)/(b)',
    '--rounds=3             windows per side of (a)/(b)',
    '--warmup=0.5           seconds of load per side before the first round',
    '--uncached-rounds=2    windows per side of (c)',
    '--uncached-duration=2  seconds per window of (c)',
    '--mix-duration=4       seconds of the read mix (d)',
    '--write-every=100      one write per this many requests of the mix',
    '--no-redis             skip the Redis store even when redis-server is installed',
  ],
  run: runCacheBenchmark,
};
export default benchmark;

function readSettings(ctx: BenchContext): Settings {
  const { args } = ctx;
  return {
    connections: Math.round(args.number('connections', 50)),
    durationS: args.number('duration', 2.5),
    rounds: Math.round(args.number('rounds', 3)),
    warmupS: args.number('warmup', 0.5),
    uncachedRounds: Math.round(args.number('uncached-rounds', 2)),
    uncachedDurationS: args.number('uncached-duration', 2),
    mixDurationS: args.number('mix-duration', 4),
    writeEvery: Math.round(args.number('write-every', 100)),
    redis: !args.flag('no-redis'),
  };
}

/** What the run has started, for `finally` to stop: apps in start order, and Redis. */
interface Started {
  running: RunningApp[];
  redis?: BenchRedis;
}

/** The applications (a)/(b) load, by side, and what became of the Redis side. */
interface Sides {
  targets: Partial<Record<HttpSide, RunningApp>> & Record<'memory', RunningApp>;
  redisNote: string;
}

async function runCacheBenchmark(ctx: BenchContext): Promise<void> {
  const settings = readSettings(ctx);
  const dir = mkdtempSync(join(tmpdir(), 'bench-cache-'));
  const started: Started = { running: [] };
  try {
    const { targets, redisNote } = await startSides(dir, settings, started);
    const memory = targets.memory;
    const poolMax = memory.app.get(DuckDbPool).stats().max;
    ctx.log(
      `autocannon in a child process, ${settings.connections} connections, no pipelining; ` +
        `(a)/(b) ${settings.rounds} rounds of ${settings.durationS} s per side; app pool max ` +
        `${poolMax}; Redis: ${redisNote}; DuckDB ${duckdbVersion()}; ` +
        `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE}; ${os.cpus().length} CPUs; ` +
        `load average ${os.loadavg()[0].toFixed(1)}`,
    );
    // (a)/(b): cached reads against the bare app.
    const cached = await measureCached(ctx, targets, settings);
    // (c): the uncached read against the raw driver on the same instance.
    const uncached = await measureUncached(ctx, memory, poolMax, settings);
    // (d): hit ratio of a steady read mix with writes.
    const mix = await measureMix(ctx, memory, settings);

    const report: CacheReport = { settings, cached, uncached, mix, poolMax };
    printReport(ctx, report);
    const file = await writeResults(ctx, report, redisNote);
    ctx.log(`\nResults written to ${file}`);
  } finally {
    for (const { app } of started.running.reverse()) await app.close().catch(() => undefined);
    if (started.redis) await started.redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts the app on the memory store, the bare app serving its active-model response, the app
 * with the response cache off, and (when `redis-server` is installed and not `--no-redis`) Redis
 * and the app on it; each is recorded in `started` as soon as it runs.
 */
async function startSides(dir: string, settings: Settings, started: Started): Promise<Sides> {
  const start = async (name: string, env: NodeJS.ProcessEnv) => {
    const app = await startApp({ DUCKDB_PATH: join(dir, `${name}.duckdb`), ...env });
    started.running.push(app);
    return app;
  };
  const silentMemory = { LOG_LEVEL: 'silent', CACHE_STORE: 'memory' };
  const memory = await start('memory', silentMemory);
  const active = await getJson<Record<string, unknown>>(`${memory.origin}${ACTIVE_PATH}`);
  const bare = await startBareApp(active, memory.config);
  started.running.push(bare);
  const nest = await start('nest', { ...silentMemory, CACHE_RESPONSE_ENTRIES: '0' });
  const targets: Sides['targets'] = { bare, memory, nest };

  const binary = settings.redis ? findRedisServer() : undefined;
  if (!binary) {
    const redisNote = settings.redis
      ? 'skipped: redis-server is not installed'
      : 'skipped (--no-redis)';
    return { targets, redisNote };
  }
  const redis = await startRedis(binary);
  started.redis = redis;
  targets.redis = await start('redis', {
    LOG_LEVEL: 'silent',
    CACHE_STORE: 'redis',
    REDIS_URL: redis.url,
  });
  await waitForCache(targets.redis.origin);
  return { targets, redisNote: `redis-server pid ${redis.pid} at ${redis.url}` };
}

/** Writes `bench/results/cache.json`: environment, settings, targets and every result. */
function writeResults(ctx: BenchContext, report: CacheReport, redisNote: string): Promise<string> {
  const { settings, cached, uncached, mix, poolMax } = report;
  return ctx.writeResults('cache', {
    benchmark: 'cache',
    date: new Date().toISOString(),
    environment: {
      node: process.version,
      duckdb: duckdbVersion(),
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      loadAverage: os.loadavg(),
      uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE),
      poolMax,
      redis: redisNote,
    },
    settings,
    targets: {
      cached: `cached GET ${ACTIVE_PATH} (memory store) ≥ ${MIN_CACHED_RATIO * 100}% of bare req/s`,
      hitRatio: `memory-cache hit ratio of the mix ≥ ${MIN_HIT_RATIO * 100}%`,
    },
    targetMet: {
      cached: cached.ratios.memory.ratio >= MIN_CACHED_RATIO,
      hitRatio: mix.hitRatio >= MIN_HIT_RATIO,
    },
    cached,
    uncached,
    mix,
  });
}
