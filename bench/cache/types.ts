import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { QueryCacheStats } from '@lib/query-cache';
import type { AppConfig } from '../../apps/api/src/config/app-config';
import type { SideResult } from '../pool.report';
import type { HttpLoadSample } from '../support/http-load';

/** The application's API prefix. */
export const API = '/api/v1';
/** The cached read of (a)/(b). */
export const ACTIVE_PATH = `${API}/usage-types/embedding/active`;
/** Not cached by the repository: every request runs `ModelConfigsRepository.list`'s query. */
export const UNCACHED_PATH = `${API}/model-configs?usageType=embedding&limit=1`;

/** Target the verdicts check: cached (memory store) req/s ÷ bare req/s. */
export const MIN_CACHED_RATIO = 0.8;
/** Target the verdicts check: the memory cache's hit ratio over the read mix. */
export const MIN_HIT_RATIO = 0.95;

/** The applications (a)/(b) load: the bare app and the cached sides. */
export type HttpSide = 'bare' | 'memory' | 'nest' | 'redis';

/** Each side's row label in the report. */
export const SIDE_LABEL: Record<HttpSide, string> = {
  bare: 'bare Nest + Fastify (fixed JSON)',
  memory: 'app, cached (memory store)',
  nest: 'app, cached through Nest (memory, response cache off)',
  redis: 'app, cached (Redis store)',
};

/** The benchmark's options, from the command line (see the benchmark's `options`). */
export interface Settings {
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

/** An application listening on a loopback port. */
export interface RunningApp {
  app: NestFastifyApplication;
  origin: string;
  /** The real application's configuration (absent on the bare app). */
  config?: AppConfig;
}

/** One HTTP window, with the cache counters' change over it (cached sides). */
export interface HttpWindow extends HttpLoadSample {
  cache?: CacheDelta;
  /** `@CacheResponse()` requests answered with a kept response, and those that ran the handler. */
  keptResponses?: { hits: number; misses: number; storeChecks: number };
}

/** The change of `/health/cache`'s counters over a window, and the breaker after it. */
export interface CacheDelta {
  hits: number;
  misses: number;
  /** Reads that skipped the store (breaker open): served by the loader, single-flight. */
  bypassed: number;
  /** Failed or timed-out store calls. */
  errors: number;
  breakerAfter: QueryCacheStats['breaker'];
}

/** One side's HTTP windows and their medians, rounded for the report. */
export interface HttpSideResult {
  windows: HttpWindow[];
  medianPerSecond: number;
  spreadPct: number;
  medianP50Ms: number;
  medianP99Ms: number;
  medianCpuUsPerRequest: number;
  medianEventLoopUtilization: number;
}

/** (a)/(b): every side's windows, and each cached side against the bare app. */
export interface CachedResult {
  sides: Partial<Record<HttpSide, HttpSideResult>>;
  /** `ModelConfigsRepository.findActive()` hits in-process, one caller (memory store). */
  inProcessHit?: { perSecond: number; cpuUsPerOp: number };
  /** Per-round side ÷ bare req/s and their median, for each cached side. */
  ratios: Record<'memory', RatioResult> & Partial<Record<'nest' | 'redis', RatioResult>>;
}

/** One cached side against the bare app. */
export interface RatioResult {
  roundRatios: number[];
  ratio: number;
  /** Median per-round side − bare server CPU per request, µs. */
  cpuDeltaUs: number;
}

/** (c): the uncached read over HTTP and in-process against the raw driver. */
export interface UncachedResult {
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

/** (d): the read mix with writes, and the memory cache's hit ratio over it. */
export interface MixResult {
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
