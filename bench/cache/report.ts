import type { BenchContext } from '../support/benchmark';
import { formatInt, markdownTable, median } from '../support/report';
import {
  ACTIVE_PATH,
  type CacheDelta,
  type CachedResult,
  type HttpSide,
  type HttpSideResult,
  MIN_CACHED_RATIO,
  MIN_HIT_RATIO,
  type MixResult,
  SIDE_LABEL,
  type Settings,
  UNCACHED_PATH,
  type UncachedResult,
} from './types';

/** Everything the cache benchmark measured, as {@link printReport} prints it. */
export interface CacheReport {
  settings: Settings;
  cached: CachedResult;
  uncached: UncachedResult;
  mix: MixResult;
  /** The app's pool `max`: as many raw connections as (c) opened. */
  poolMax: number;
}

/** Prints (a)/(b), (c) and (d) as tables with their notes, then the verdicts. */
export function printReport(ctx: BenchContext, report: CacheReport): void {
  printCached(ctx, report.settings, report.cached);
  printUncached(ctx, report);
  printMix(ctx, report.settings, report.mix);
  printVerdicts(ctx, report);
}

function printCached(ctx: BenchContext, settings: Settings, cached: CachedResult): void {
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
    if (s) rows.push(cachedRow(side, s, cached));
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
  printCpuNote(ctx, cached);
  printStoreErrors(ctx, cached);
}

/** One side's row of the (a)/(b) table. */
function cachedRow(side: HttpSide, s: HttpSideResult, cached: CachedResult): string[] {
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
  return [
    SIDE_LABEL[side],
    formatInt(s.medianPerSecond),
    s.medianP50Ms.toFixed(1),
    s.medianP99Ms.toFixed(1),
    s.medianCpuUsPerRequest.toFixed(0),
    s.medianEventLoopUtilization.toFixed(2),
    ratio ? ratioRange(ratio.ratio, ratio.roundRatios) : '1.000',
    side === 'bare' || keptLookups === 0 ? '' : `${((kept / keptLookups) * 100).toFixed(1)}%`,
    side === 'bare'
      ? ''
      : (
          Math.max(0, lookups - kept + total((c) => c.bypassed)) / responses +
          checks / responses
        ).toFixed(3),
    side === 'bare' || lookups === 0 ? '' : `${((hits / lookups) * 100).toFixed(1)}%`,
    side === 'bare' ? '' : formatInt(total((c) => c.errors)),
  ];
}

/** What a cached read costs in server CPU over the bare route, and the load generator's share. */
function printCpuNote(ctx: BenchContext, cached: CachedResult): void {
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
}

/** For each cached side whose store failed: how often, and whether its row still measures a hit. */
function printStoreErrors(ctx: BenchContext, cached: CachedResult): void {
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
}

/** `median (lowest–highest)` of per-round ratios. */
function ratioRange(ratio: number, roundRatios: readonly number[]): string {
  return `${ratio.toFixed(3)} (${Math.min(...roundRatios).toFixed(2)}–${Math.max(...roundRatios).toFixed(2)})`;
}

function printUncached(
  ctx: BenchContext,
  { settings, cached, uncached, poolMax }: CacheReport,
): void {
  ctx.log(
    `\n(c) Uncached: GET ${UNCACHED_PATH} (never cached: one statement per request) against the`,
  );
  ctx.log(
    `same statement on ${uncached.rawCallers} raw connections of the same DuckDB instance (the ` +
      `app's pool max is ${poolMax}), closed loops, and the repository method the request ` +
      'calls, in-process (the library path without HTTP). CPU: this process per read/request ' +
      '(autocannon excluded).\n',
  );
  const { raw, repository, http } = uncached;
  ctx.log(
    markdownTable(
      ['side', 'reads/s', 'p99 ms', 'CPU µs/read', 'ratio'],
      [
        [
          `raw @duckdb/node-api, ${uncached.rawCallers} connections`,
          formatInt(raw.medianPerSecond),
          '',
          raw.medianCpuUsPerOp.toFixed(0),
          '1.000',
        ],
        [
          `ModelConfigsRepository.list() in-process, ${uncached.rawCallers} callers`,
          formatInt(repository.medianPerSecond),
          '',
          repository.medianCpuUsPerOp.toFixed(0),
          ratioRange(uncached.repositoryRatio, uncached.repositoryRoundRatios),
        ],
        [
          `app over HTTP, ${settings.connections} connections`,
          formatInt(http.medianPerSecond),
          http.medianP99Ms.toFixed(1),
          http.medianCpuUsPerRequest.toFixed(0),
          ratioRange(uncached.ratio, uncached.roundRatios),
        ],
      ],
    ),
  );
  const cachedBest = cached.sides.memory?.medianPerSecond ?? 0;
  ctx.log(
    `\nSame row and total from both: ${uncached.sameResult ? 'yes' : 'NO'}; cache calls while ` +
      `the uncached path ran: ${uncached.cacheCalls}. Cached ÷ uncached req/s: ` +
      `${(cachedBest / http.medianPerSecond).toFixed(1)}×.`,
  );
}

function printMix(ctx: BenchContext, settings: Settings, mix: MixResult): void {
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
}

function printVerdicts(ctx: BenchContext, { cached, uncached, mix }: CacheReport): void {
  const memory = cached.ratios.memory;
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
