import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, type DynamicModule, Get, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { version as duckdbVersion } from '@duckdb/node-api';
import { DuckDbClient, DuckDbDatabase, DuckDbPool, transactionStorage } from '@lib/duckdb';
import {
  type GetOrLoadOptions,
  QueryCache,
  type QueryCacheStats,
  ResponseCache,
} from '@lib/query-cache';
import { createApp } from '../apps/api/src/bootstrap';
import {
  REQUEST_TIMEOUT_MS,
  clientErrorHandler,
  requestIdFrom,
} from '../apps/api/src/common/http-hardening';
import type { AppConfig } from '../apps/api/src/config/app-config';
import { ModelConfigsRepository } from '../apps/api/src/model-configs/model-configs.repository';
import { type SideResult, summarize } from './pool.report';
import type { Benchmark, BenchContext } from './support/benchmark';
import {
  type HttpLoadOptions,
  type HttpLoadSample,
  type HttpRequestSpec,
  runHttpLoad,
} from './support/http-load';
import { type LoadSample, runClosedLoop } from './support/load';
import { MODEL_CONFIG_COLUMNS, mulberry32 } from './support/model-configs-db';
import { type RawQuery, openRawQuery } from './support/raw-readers';
import { type BenchRedis, findRedisServer, startRedis } from './support/redis';
import { formatInt, markdownTable, median, round, spreadPct } from './support/report';

const API = '/api/v1';
const ACTIVE_PATH = `${API}/usage-types/embedding/active`;
/** Not cached by the repository: every request runs `ModelConfigsRepository.list`'s query. */
const UNCACHED_PATH = `${API}/model-configs?usageType=embedding&limit=1`;
/** `ModelConfigsRepository.list`'s statement, as the uncached request runs it. */
const LIST_SQL = `SELECT ${MODEL_CONFIG_COLUMNS}, count(*) OVER () AS total FROM model_configs WHERE ($1::VARCHAR IS NULL OR usage_type = $1::VARCHAR)
      AND ($2::VARCHAR IS NULL OR provider = $2::VARCHAR)
      AND ($3::BOOLEAN IS NULL OR enabled = $3::BOOLEAN)
       ORDER BY usage_type, priority LIMIT $4 OFFSET $5`;

/** Targets the verdicts check. */
const MIN_CACHED_RATIO = 0.8;
const MIN_HIT_RATIO = 0.95;

type HttpSide = 'bare' | 'memory' | 'nest' | 'redis';
const SIDE_LABEL: Record<HttpSide, string> = {
  bare: 'bare Nest + Fastify (fixed JSON)',
  memory: 'app, cached (memory store)',
  nest: 'app, cached through Nest (memory, response cache off)',
  redis: 'app, cached (Redis store)',
};

interface Settings {
  connections: number;
  durationS: number;
  rounds: number;
  warmupS: number;
  uncachedRounds: number;
  uncachedDurationS: number;
  mixDurationS: number;
  /** One request in this many of the mix is a write. */
  writeEvery: number;
  redis: boolean;
}

interface RunningApp {
  app: NestFastifyApplication;
  origin: string;
  config?: AppConfig;
}

/** One HTTP window, with the cache counters' change over it (cached sides). */
interface HttpWindow extends HttpLoadSample {
  cache?: CacheDelta;
  /** `@CacheResponse()` requests answered with a kept response, and those that ran the handler. */
  keptResponses?: { hits: number; misses: number; storeChecks: number };
}

/** The change of `/health/cache`'s counters over a window, and the breaker after it. */
interface CacheDelta {
  hits: number;
  misses: number;
  /** Reads that skipped the store (breaker open): served by the loader, single-flight. */
  bypassed: number;
  /** Failed or timed-out store calls. */
  errors: number;
  breakerAfter: QueryCacheStats['breaker'];
}

interface HttpSideResult {
  windows: HttpWindow[];
  medianPerSecond: number;
  spreadPct: number;
  medianP50Ms: number;
  medianP99Ms: number;
  medianCpuUsPerRequest: number;
  medianEventLoopUtilization: number;
}

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

async function runCacheBenchmark(ctx: BenchContext): Promise<void> {
  const settings = readSettings(ctx);
  const dir = mkdtempSync(join(tmpdir(), 'bench-cache-'));
  const running: RunningApp[] = [];
  let redis: BenchRedis | undefined;
  try {
    const memory = await startApp({
      DUCKDB_PATH: join(dir, 'memory.duckdb'),
      LOG_LEVEL: 'silent',
      CACHE_STORE: 'memory',
    });
    running.push(memory);
    const active = await getJson<Record<string, unknown>>(`${memory.origin}${ACTIVE_PATH}`);
    const bare = await startBareApp(active, memory.config?.bodyLimit ?? 1024 * 1024);
    running.push(bare);
    const nest = await startApp({
      DUCKDB_PATH: join(dir, 'nest.duckdb'),
      LOG_LEVEL: 'silent',
      CACHE_STORE: 'memory',
      CACHE_RESPONSE_ENTRIES: '0',
    });
    running.push(nest);

    let redisApp: RunningApp | undefined;
    let redisNote = 'skipped (--no-redis)';
    const binary = settings.redis ? findRedisServer() : undefined;
    if (settings.redis && !binary) redisNote = 'skipped: redis-server is not installed';
    if (binary) {
      redis = await startRedis(binary);
      redisApp = await startApp({
        DUCKDB_PATH: join(dir, 'redis.duckdb'),
        LOG_LEVEL: 'silent',
        CACHE_STORE: 'redis',
        REDIS_URL: redis.url,
      });
      running.push(redisApp);
      await waitForCache(redisApp.origin);
      redisNote = `redis-server pid ${redis.pid} at ${redis.url}`;
    }
    const poolMax = memory.app.get(DuckDbPool).stats().max;
    ctx.log(
      `autocannon in a child process, ${settings.connections} connections, no pipelining; ` +
        `(a)/(b) ${settings.rounds} rounds of ${settings.durationS} s per side; app pool max ` +
        `${poolMax}; Redis: ${redisNote}; DuckDB ${duckdbVersion()}; ` +
        `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE}; ${os.cpus().length} CPUs; ` +
        `load average ${os.loadavg()[0].toFixed(1)}`,
    );

    // (a)/(b): cached reads against the bare app.
    const targets: Partial<Record<HttpSide, RunningApp>> = { bare, memory, nest };
    if (redisApp) targets.redis = redisApp;
    const httpSides = Object.keys(targets) as HttpSide[];
    for (const side of httpSides) {
      // Prime the cache, then warm the JIT and the sockets.
      await getJson(`${(targets[side] as RunningApp).origin}${ACTIVE_PATH}`);
      await runHttpLoad(httpOptions(targets[side] as RunningApp, ACTIVE_PATH, settings, true));
    }
    const windows: Record<HttpSide, HttpWindow[]> = { bare: [], memory: [], nest: [], redis: [] };
    for (let r = 0; r < settings.rounds; r++) {
      const order = httpSides.map((_, i) => httpSides[(i + r) % httpSides.length]);
      for (const side of order) {
        const target = targets[side] as RunningApp;
        const cached = side !== 'bare';
        const before = cached ? await cacheStats(target.origin) : undefined;
        const keptBefore = cached ? target.app.get(ResponseCache).stats() : undefined;
        const sample: HttpWindow = await runHttpLoad(
          httpOptions(target, ACTIVE_PATH, settings, false),
        );
        if (before) {
          sample.cache = cacheDelta(before, await cacheStats(target.origin));
          const keptAfter = target.app.get(ResponseCache).stats();
          sample.keptResponses = {
            hits: keptAfter.hits - (keptBefore?.hits ?? 0),
            misses: keptAfter.misses - (keptBefore?.misses ?? 0),
            storeChecks: keptAfter.storeChecks - (keptBefore?.storeChecks ?? 0),
          };
        }
        windows[side].push(sample);
      }
    }
    ctx.log(
      `  req/s per round: ` +
        httpSides
          .map((s) => `${s} ${windows[s].map((w) => formatInt(w.perSecond)).join(' ')}`)
          .join(' | '),
    );
    const cachedResult = summarizeCached(windows, httpSides);
    // What one hit costs without HTTP: the repository's cached read, one caller, in-process.
    const repository = memory.app.get(ModelConfigsRepository);
    const hitSample = await measureSequential(async () => {
      if (!(await repository.findActive('embedding'))) throw new Error('no active config');
    }, 1000);
    cachedResult.inProcessHit = {
      perSecond: round(hitSample.perSecond),
      cpuUsPerOp: round(hitSample.cpuUsPerOp, 1),
    };

    // (c): the uncached read against the raw driver on the same instance.
    const uncached = await measureUncached(ctx, memory, poolMax, settings);

    // (d): hit ratio of a steady read mix with writes.
    const mix = await measureMix(ctx, memory, settings);

    printReport(ctx, settings, cachedResult, uncached, mix, poolMax);
    const file = await ctx.writeResults('cache', {
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
        cached: cachedResult.ratios.memory.ratio >= MIN_CACHED_RATIO,
        hitRatio: mix.hitRatio >= MIN_HIT_RATIO,
      },
      cached: cachedResult,
      uncached,
      mix,
    });
    ctx.log(`\nResults written to ${file}`);
  } finally {
    for (const { app } of running.reverse()) await app.close().catch(() => undefined);
    if (redis) await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function httpOptions(
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

// ---------------------------------------------------------------------------------------------
// (a)/(b)

interface CachedResult {
  sides: Partial<Record<HttpSide, HttpSideResult>>;
  /** `ModelConfigsRepository.findActive()` hits in-process, one caller (memory store). */
  inProcessHit?: { perSecond: number; cpuUsPerOp: number };
  /** Per-round side ÷ bare req/s and their median, for each cached side. */
  ratios: Record<'memory', RatioResult> & Partial<Record<'nest' | 'redis', RatioResult>>;
}

interface RatioResult {
  roundRatios: number[];
  ratio: number;
  /** Median per-round side − bare server CPU per request, µs. */
  cpuDeltaUs: number;
}

function summarizeCached(
  windows: Record<HttpSide, HttpWindow[]>,
  sides: readonly HttpSide[],
): CachedResult {
  const result: CachedResult = {
    sides: {},
    ratios: { memory: ratioAgainstBare(windows, 'memory') },
  };
  for (const side of sides) result.sides[side] = summarizeHttp(windows[side]);
  if (sides.includes('nest')) result.ratios.nest = ratioAgainstBare(windows, 'nest');
  if (sides.includes('redis')) result.ratios.redis = ratioAgainstBare(windows, 'redis');
  return result;
}

function ratioAgainstBare(windows: Record<HttpSide, HttpWindow[]>, side: HttpSide): RatioResult {
  const roundRatios = windows[side].map((w, i) => w.perSecond / windows.bare[i].perSecond);
  return {
    roundRatios: roundRatios.map((x) => round(x, 4)),
    ratio: round(median(roundRatios), 4),
    cpuDeltaUs: round(
      median(
        windows[side].map(
          (w, i) => w.serverCpuUsPerRequest - windows.bare[i].serverCpuUsPerRequest,
        ),
      ),
      1,
    ),
  };
}

function summarizeHttp(windows: readonly HttpWindow[]): HttpSideResult {
  const perSecond = windows.map((w) => w.perSecond);
  return {
    windows: windows.map((w) => ({
      ...w,
      perSecond: round(w.perSecond),
      serverCpuUsPerRequest: round(w.serverCpuUsPerRequest, 1),
      serverEventLoopUtilization: round(w.serverEventLoopUtilization, 3),
      clientCpuShare: round(w.clientCpuShare, 3),
      foreignCpuShare: round(w.foreignCpuShare, 3),
    })),
    medianPerSecond: round(median(perSecond)),
    spreadPct: round(spreadPct(perSecond), 1),
    medianP50Ms: round(median(windows.map((w) => w.latencyP50Ms)), 2),
    medianP99Ms: round(median(windows.map((w) => w.latencyP99Ms)), 2),
    medianCpuUsPerRequest: round(median(windows.map((w) => w.serverCpuUsPerRequest)), 1),
    medianEventLoopUtilization: round(median(windows.map((w) => w.serverEventLoopUtilization)), 3),
  };
}

// ---------------------------------------------------------------------------------------------
// (c)

interface UncachedResult {
  path: string;
  sql: string;
  rawCallers: number;
  http: HttpSideResult;
  /** `ModelConfigsRepository.list()` called in-process: the library path without HTTP. */
  repository: SideResult;
  raw: SideResult;
  roundRatios: number[];
  /** Median per-round HTTP req/s ÷ raw reads/s. */
  ratio: number;
  /** Median per-round repository ÷ raw reads/s. */
  repositoryRatio: number;
  repositoryRoundRatios: number[];
  /** Cache hits + misses counted while the uncached path ran (0: it never touched the cache). */
  cacheCalls: number;
  /** The raw statement returned the same row and total as the HTTP response. */
  sameResult: boolean;
}

async function measureUncached(
  ctx: BenchContext,
  target: RunningApp,
  callers: number,
  settings: Settings,
): Promise<UncachedResult> {
  const { instance } = target.app.get(DuckDbDatabase);
  const queries: RawQuery[] = [];
  try {
    for (let i = 0; i < callers; i++) {
      queries.push(
        await openRawQuery(instance, LIST_SQL, (statement) => {
          statement.bindVarchar(1, 'embedding');
          statement.bindNull(2);
          statement.bindNull(3);
          statement.bindInteger(4, 1);
          statement.bindInteger(5, 0);
        }),
      );
    }
    const page = await getJson<{ items: { id: string }[]; total: number }>(
      `${target.origin}${UNCACHED_PATH}`,
    );
    const rows = await queries[0].read();
    const sameResult =
      rows.length === 1 &&
      page.items.length === 1 &&
      String(rows[0].id) === page.items[0].id &&
      Number(rows[0].total) === page.total;
    const rawOps = queries.map((q) => async () => {
      if ((await q.read()).length !== 1) throw new Error('expected one row');
    });
    const repository = target.app.get(ModelConfigsRepository);
    const filter = { usageType: 'embedding', limit: 1, offset: 0 };
    const repositoryOps = queries.map(() => async () => {
      if ((await repository.list(filter)).items.length !== 1) throw new Error('expected one row');
    });
    const options = { ...settings, durationS: settings.uncachedDurationS };
    await runHttpLoad({ ...httpOptions(target, UNCACHED_PATH, options, true) });
    const httpWindows: HttpWindow[] = [];
    const rawSamples: LoadSample[] = [];
    const repositorySamples: LoadSample[] = [];
    const sides = ['http', 'raw', 'repository'] as const;
    let cacheCalls = 0;
    for (let r = 0; r < settings.uncachedRounds; r++) {
      for (let i = 0; i < sides.length; i++) {
        const side = sides[(i + r) % sides.length];
        const loop = {
          warmupMs: r === 0 ? 500 : 100,
          durationMs: settings.uncachedDurationS * 1000,
        };
        if (side === 'raw') {
          rawSamples.push(await runClosedLoop(rawOps, loop));
        } else if (side === 'repository') {
          repositorySamples.push(await runClosedLoop(repositoryOps, loop));
        } else {
          const before = await cacheStats(target.origin);
          httpWindows.push(await runHttpLoad(httpOptions(target, UNCACHED_PATH, options, false)));
          const after = await cacheStats(target.origin);
          cacheCalls += after.hits + after.misses - before.hits - before.misses;
        }
      }
    }
    ctx.log(
      `  uncached per round: http ${httpWindows.map((w) => formatInt(w.perSecond)).join(' ')} ` +
        `| repository ${repositorySamples.map((s) => formatInt(s.perSecond)).join(' ')} ` +
        `| raw ${rawSamples.map((s) => formatInt(s.perSecond)).join(' ')}`,
    );
    const roundRatios = httpWindows.map((w, i) => w.perSecond / rawSamples[i].perSecond);
    const repositoryRoundRatios = repositorySamples.map(
      (s, i) => s.perSecond / rawSamples[i].perSecond,
    );
    return {
      path: UNCACHED_PATH,
      sql: LIST_SQL,
      rawCallers: callers,
      http: summarizeHttp(httpWindows),
      repository: summarize(repositorySamples),
      raw: summarize(rawSamples),
      roundRatios: roundRatios.map((x) => round(x, 4)),
      ratio: round(median(roundRatios), 4),
      repositoryRatio: round(median(repositoryRoundRatios), 4),
      repositoryRoundRatios: repositoryRoundRatios.map((x) => round(x, 4)),
      cacheCalls,
      sameResult,
    };
  } finally {
    for (const query of queries) query.close();
  }
}

// ---------------------------------------------------------------------------------------------
// (d)

interface MixResult {
  requests: number;
  perSecond: number;
  non2xx: number;
  errors: number;
  /** Committed writes (the change of `sum(version)`). */
  writes: number;
  hits: number;
  misses: number;
  /** hits ÷ (hits + misses) over the mix. */
  hitRatio: number;
  missesPerWrite: number;
  /** `/health/cache`'s own `hitRatio` after the mix (since startup, every part included). */
  reportedHitRatio: number;
  latencyP99Ms: number;
  /** Loader runs outside transactions during the mix, by cache-key kind (`active`, `id`, …). */
  missesByKind: Record<string, number>;
  readSpecs: number;
  sequenceLength: number;
}

async function measureMix(
  ctx: BenchContext,
  target: RunningApp,
  settings: Settings,
): Promise<MixResult> {
  const page = await getJson<{
    items: { id: string; usageType: string; modelId: string; provider: string }[];
  }>(`${target.origin}${API}/model-configs?limit=1000`);
  const configs = page.items;
  const usageTypes = [...new Set(configs.map((c) => c.usageType))];
  const providers = [...new Set(configs.map((c) => c.provider))];
  const activeModel = new Map(configs.map((c) => [c.usageType, c.modelId]));
  const kinds: ((random: () => number) => string)[] = [
    (random) => `${API}/usage-types/${pick(usageTypes, random)}/active`,
    (random) => `${API}/usage-types/${pick(usageTypes, random)}/fallback-chain`,
    () => `${API}/usage-types`,
    (random) => `${API}/providers/${pick(providers, random)}/models`,
    (random) => {
      const usageType = pick(usageTypes, random);
      return `${API}/usage-types/${usageType}/models/${encodeURIComponent(activeModel.get(usageType) as string)}`;
    },
    (random) => `${API}/model-configs/${pick(configs, random).id}`,
  ];
  // Every kind of read equally often, its usage type / provider / id drawn at random; one
  // request in `writeEvery` renames a config, each in turn.
  const random = mulberry32(0xcace);
  const length = settings.writeEvery * configs.length;
  const sequence: HttpRequestSpec[] = [];
  for (let i = 0; i < length; i++) {
    if ((i + 1) % settings.writeEvery === 0) {
      const config = configs[Math.floor(i / settings.writeEvery) % configs.length];
      sequence.push({
        method: 'PATCH',
        path: `${API}/model-configs/${config.id}`,
        body: '{"modelName":"Bench model {{n}}"}',
        headers: { 'content-type': 'application/json' },
      });
    } else {
      sequence.push({ method: 'GET', path: kinds[Math.floor(random() * kinds.length)](random) });
    }
  }
  // Every read once, so the mix measures steady state rather than a cold cache.
  const readPaths = [...new Set(sequence.filter((s) => s.method === 'GET').map((s) => s.path))];
  for (const path of readPaths) await getJson(`${target.origin}${path}`);

  const loadsByKind = countLoadsByKind(target.app.get(QueryCache));
  const db = target.app.get(DuckDbClient);
  const versions = async () =>
    Number((await db.queryOne<{ s: number }>('SELECT sum(version) AS s FROM model_configs'))?.s);
  const before = await cacheStats(target.origin);
  const versionsBefore = await versions();
  const sample = await runHttpLoad({
    url: target.origin,
    connections: settings.connections,
    durationS: settings.mixDurationS,
    mix: sequence,
  });
  const after = await cacheStats(target.origin);
  const writes = (await versions()) - versionsBefore;
  const missesByKind = Object.fromEntries(loadsByKind.stop());
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  ctx.log(
    `  mix: ${formatInt(sample.requests)} requests (${formatInt(sample.perSecond)}/s), ` +
      `${writes} writes, ${formatInt(hits)} hits, ${formatInt(misses)} misses`,
  );
  return {
    requests: sample.requests,
    perSecond: round(sample.perSecond),
    non2xx: sample.non2xx,
    errors: sample.errors,
    writes,
    hits,
    misses,
    hitRatio: round(hits + misses === 0 ? 0 : hits / (hits + misses), 4),
    missesPerWrite: round(writes === 0 ? 0 : misses / writes, 2),
    reportedHitRatio: after.hitRatio,
    latencyP99Ms: sample.latencyP99Ms,
    missesByKind,
    readSpecs: readPaths.length,
    sequenceLength: sequence.length,
  };
}

/**
 * Calls `fn` back to back for `ms` (after a third of that as warm-up) and reports calls per second
 * and CPU per call. A memory-cache hit settles in microtasks alone, so a timer could never end the
 * loop: the clock is read between calls instead (the event loop is blocked meanwhile).
 */
async function measureSequential(
  fn: () => Promise<void>,
  ms: number,
): Promise<{ perSecond: number; cpuUsPerOp: number }> {
  const warmUntil = performance.now() + ms / 3;
  while (performance.now() < warmUntil) await fn();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  let calls = 0;
  while (performance.now() - start < ms) {
    await fn();
    calls++;
  }
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  return { perSecond: (calls * 1000) / elapsed, cpuUsPerOp: (cpu.user + cpu.system) / calls };
}

/**
 * Counts the loader runs of `cache.getOrLoad` outside transactions (its misses and bypasses;
 * a transaction's reads skip the cache and are not counted) by the kind of key, the repository's
 * prefix before `:`, by wrapping the method of this one instance until `stop()`.
 */
function countLoadsByKind(cache: QueryCache): { stop(): Map<string, number> } {
  const counts = new Map<string, number>();
  const original = cache.getOrLoad;
  const wrapped: QueryCache['getOrLoad'] = function <T>(
    this: QueryCache,
    key: string,
    loader: () => Promise<T>,
    options: GetOrLoadOptions,
  ): Promise<T> {
    const counted = (): Promise<T> => {
      if (!transactionStorage.getStore()) {
        const kind = key.split(':', 1)[0];
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
      }
      return loader();
    };
    return original.call(this, key, counted, options) as Promise<T>;
  };
  cache.getOrLoad = wrapped;
  return {
    stop: () => {
      cache.getOrLoad = original;
      return counts;
    },
  };
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)];
}

// ---------------------------------------------------------------------------------------------
// Report

function printReport(
  ctx: BenchContext,
  settings: Settings,
  cached: CachedResult,
  uncached: UncachedResult,
  mix: MixResult,
  poolMax: number,
): void {
  ctx.log(`\n(a)/(b) GET ${ACTIVE_PATH}, ${settings.connections} connections. req/s: median of`);
  ctx.log('the rounds; ratio: median of the per-round side ÷ bare ratios (lowest–highest round);');
  ctx.log('CPU µs/req: this process (the servers), every thread; ELU: its event-loop utilization.');
  ctx.log(
    'Kept: share of the requests answered with a kept response (@CacheResponse(), before Nest;',
  );
  ctx.log('the rest ran the handler).');
  ctx.log('From /health/cache over the windows: store reads/req (hits + misses + bypassed, less');
  ctx.log('the kept responses, plus the token checks of kept responses on Redis, per response;');
  ctx.log('below 1 when concurrent requests share one lookup or check), hit ratio (kept responses');
  ctx.log('count as hits), and store errors (failed or timed-out store calls).\n');
  const rows: string[][] = [];
  for (const side of ['bare', 'memory', 'nest', 'redis'] as const) {
    const s = cached.sides[side];
    if (!s) continue;
    const ratio = side === 'bare' ? undefined : cached.ratios[side];
    const total = (of: (c: CacheDelta) => number) =>
      s.windows.reduce((n, w) => n + (w.cache ? of(w.cache) : 0), 0);
    const responses = s.windows.reduce((n, w) => n + w.requests, 0);
    const hits = total((c) => c.hits);
    const lookups = hits + total((c) => c.misses);
    const kept = s.windows.reduce((n, w) => n + (w.keptResponses?.hits ?? 0), 0);
    const checks = s.windows.reduce((n, w) => n + (w.keptResponses?.storeChecks ?? 0), 0);
    const keptLookups = s.windows.reduce(
      (n, w) => n + (w.keptResponses ? w.keptResponses.hits + w.keptResponses.misses : 0),
      0,
    );
    rows.push([
      SIDE_LABEL[side],
      formatInt(s.medianPerSecond),
      s.medianP50Ms.toFixed(1),
      s.medianP99Ms.toFixed(1),
      s.medianCpuUsPerRequest.toFixed(0),
      s.medianEventLoopUtilization.toFixed(2),
      ratio
        ? `${ratio.ratio.toFixed(3)} (${Math.min(...ratio.roundRatios).toFixed(2)}–${Math.max(...ratio.roundRatios).toFixed(2)})`
        : '1.000',
      side === 'bare' || keptLookups === 0 ? '' : `${((kept / keptLookups) * 100).toFixed(1)}%`,
      side === 'bare'
        ? ''
        : (
            Math.max(0, lookups - kept + total((c) => c.bypassed)) / responses +
            checks / responses
          ).toFixed(3),
      side === 'bare' || lookups === 0 ? '' : `${((hits / lookups) * 100).toFixed(1)}%`,
      side === 'bare' ? '' : formatInt(total((c) => c.errors)),
    ]);
  }
  ctx.log(
    markdownTable(
      [
        'side',
        'req/s',
        'p50 ms',
        'p99 ms',
        'CPU µs/req',
        'ELU',
        'ratio vs bare',
        'kept',
        'store reads/req',
        'hit ratio',
        'store errors',
      ],
      rows,
    ),
  );
  const memory = cached.ratios.memory;
  const allWindows = Object.values(cached.sides).flatMap((s) => s?.windows ?? []);
  const client = median(allWindows.map((w) => w.clientCpuShare));
  const foreign = median(allWindows.map((w) => w.foreignCpuShare));
  ctx.log(
    `\nThe cached read costs ${memory.cpuDeltaUs.toFixed(0)} µs more server CPU per request ` +
      `than the bare route (median of per-round differences)` +
      (cached.inProcessHit
        ? `, of which the cache hit itself (repository.findActive() in-process, one caller) is ` +
          `${cached.inProcessHit.cpuUsPerOp.toFixed(0)} µs (${formatInt(cached.inProcessHit.perSecond)} hits/s)`
        : '') +
      (cached.ratios.redis
        ? `; with Redis ${cached.ratios.redis.cpuDeltaUs.toFixed(0)} µs (Redis's own CPU not included).`
        : '.') +
      ` autocannon used ${(client * 100).toFixed(0)}% of the machine, other processes ` +
      `${(foreign * 100).toFixed(0)}%.`,
  );
  for (const side of ['memory', 'nest', 'redis'] as const) {
    const windows = cached.sides[side]?.windows ?? [];
    const errors = windows.reduce((n, w) => n + (w.cache?.errors ?? 0), 0);
    if (errors === 0) continue;
    const bypassed = windows.reduce((n, w) => n + (w.cache?.bypassed ?? 0), 0);
    const responses = windows.reduce((n, w) => n + w.requests, 0);
    const opened = windows.filter((w) => w.cache?.breakerAfter !== 'closed').length;
    const share = bypassed / responses;
    ctx.log(
      `${SIDE_LABEL[side]}: ${formatInt(errors)} store calls failed or exceeded ` +
        `CACHE_OP_TIMEOUT_MS; the breaker skipped the store for ${(share * 100).toFixed(1)}% of ` +
        `the requests (open after ${opened} of ${windows.length} windows)` +
        (share > 0.05
          ? ': those were answered by single-flight database loads, not by the store, so this ' +
            'row does not measure a cached read.'
          : '.'),
    );
  }

  ctx.log(
    `\n(c) Uncached: GET ${UNCACHED_PATH} (never cached: one statement per request) against the`,
  );
  ctx.log(
    `same statement on ${uncached.rawCallers} raw connections of the same DuckDB instance (the ` +
      `app's pool max is ${poolMax}), closed loops, and the repository method the request ` +
      'calls, in-process (the library path without HTTP). CPU: this process per read/request ' +
      '(autocannon excluded).\n',
  );
  ctx.log(
    markdownTable(
      ['side', 'reads/s', 'p99 ms', 'CPU µs/read', 'ratio'],
      [
        [
          `raw @duckdb/node-api, ${uncached.rawCallers} connections`,
          formatInt(uncached.raw.medianPerSecond),
          '',
          uncached.raw.medianCpuUsPerOp.toFixed(0),
          '1.000',
        ],
        [
          `ModelConfigsRepository.list() in-process, ${uncached.rawCallers} callers`,
          formatInt(uncached.repository.medianPerSecond),
          '',
          uncached.repository.medianCpuUsPerOp.toFixed(0),
          `${uncached.repositoryRatio.toFixed(3)} (${Math.min(...uncached.repositoryRoundRatios).toFixed(2)}–${Math.max(...uncached.repositoryRoundRatios).toFixed(2)})`,
        ],
        [
          `app over HTTP, ${settings.connections} connections`,
          formatInt(uncached.http.medianPerSecond),
          uncached.http.medianP99Ms.toFixed(1),
          uncached.http.medianCpuUsPerRequest.toFixed(0),
          `${uncached.ratio.toFixed(3)} (${Math.min(...uncached.roundRatios).toFixed(2)}–${Math.max(...uncached.roundRatios).toFixed(2)})`,
        ],
      ],
    ),
  );
  const cachedBest = cached.sides.memory?.medianPerSecond ?? 0;
  ctx.log(
    `\nSame row and total from both: ${uncached.sameResult ? 'yes' : 'NO'}; cache calls while ` +
      `the uncached path ran: ${uncached.cacheCalls}. Cached ÷ uncached req/s: ` +
      `${(cachedBest / uncached.http.medianPerSecond).toFixed(1)}×.`,
  );

  ctx.log(
    `\n(d) Read mix on the memory store: six kinds of cached read, equally often, over the ` +
      `${mix.readSpecs} distinct URLs of the nine seeded usage types; one request in ` +
      `${settings.writeEvery} a PATCH of modelName; ${settings.mixDurationS} s.\n`,
  );
  ctx.log(
    markdownTable(
      ['requests', 'req/s', 'writes', 'hits', 'misses', 'misses/write', 'hit ratio', 'non-2xx'],
      [
        [
          formatInt(mix.requests),
          formatInt(mix.perSecond),
          formatInt(mix.writes),
          formatInt(mix.hits),
          formatInt(mix.misses),
          mix.missesPerWrite.toFixed(1),
          `${(mix.hitRatio * 100).toFixed(2)}%`,
          formatInt(mix.non2xx + mix.errors),
        ],
      ],
    ),
  );
  const kinds = Object.entries(mix.missesByKind).sort((a, b) => b[1] - a[1]);
  if (kinds.length > 0 && mix.writes > 0) {
    ctx.log(
      `\nMisses per write by kind of key (loader runs outside transactions ÷ writes): ` +
        kinds.map(([kind, n]) => `${kind} ${(n / mix.writes).toFixed(1)}`).join(', ') +
        `. With one write per ${settings.writeEvery} requests, each key a write invalidates ` +
        `costs about ${(100 / (settings.writeEvery - 1)).toFixed(1)} points of hit ratio.`,
    );
  }
  const verdict = (ok: boolean) => (ok ? 'MET' : 'MISSED');
  ctx.log(
    `\nVerdicts: cached ≥ ${MIN_CACHED_RATIO * 100}% of bare: ${verdict(memory.ratio >= MIN_CACHED_RATIO)} ` +
      `(${(memory.ratio * 100).toFixed(1)}%)` +
      (cached.ratios.nest
        ? `; through Nest without the response cache (informative): ${(cached.ratios.nest.ratio * 100).toFixed(1)}%`
        : '') +
      (cached.ratios.redis
        ? `; Redis store (informative): ${(cached.ratios.redis.ratio * 100).toFixed(1)}% of bare`
        : '') +
      `; hit ratio ≥ ${MIN_HIT_RATIO * 100}%: ${verdict(mix.hitRatio >= MIN_HIT_RATIO)} ` +
      `(${(mix.hitRatio * 100).toFixed(2)}% from /health/cache deltas; the endpoint itself ` +
      `reports ${(mix.reportedHitRatio * 100).toFixed(2)}% since startup). Uncached HTTP ÷ raw ` +
      `driver: ${(uncached.ratio * 100).toFixed(1)}% (informative).`,
  );
}

// ---------------------------------------------------------------------------------------------
// Applications

async function startApp(env: NodeJS.ProcessEnv): Promise<RunningApp> {
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
 * Nest on Fastify with the app's adapter options (limits, request ids, timeouts, client error
 * handler) and nothing else: no hooks, guard, pipe, filter, Swagger or cache.
 */
async function startBareApp(body: Record<string, unknown>, bodyLimit: number): Promise<RunningApp> {
  const adapter = new FastifyAdapter({
    bodyLimit,
    routerOptions: { maxParamLength: 1024 },
    requestIdHeader: false,
    genReqId: requestIdFrom,
    requestTimeout: REQUEST_TIMEOUT_MS,
    http: { requestTimeout: REQUEST_TIMEOUT_MS },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    clientErrorHandler,
  });
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

async function getJson<T = unknown>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

function cacheDelta(before: QueryCacheStats, after: QueryCacheStats): CacheDelta {
  return {
    hits: after.hits - before.hits,
    misses: after.misses - before.misses,
    bypassed: after.bypassed - before.bypassed,
    errors: after.errors - before.errors,
    breakerAfter: after.breaker,
  };
}

function cacheStats(origin: string): Promise<QueryCacheStats> {
  return getJson<QueryCacheStats>(`${origin}/health/cache`);
}

/** Waits until the app's cache store is connected (Redis connects in the background). */
async function waitForCache(origin: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if ((await cacheStats(origin)).connected) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`The cache store of ${origin} did not connect within 10 s`);
}
