import { ResponseCache } from '@lib/query-cache';
import { ModelConfigsRepository } from '../../apps/api/src/model-configs/model-configs.repository';
import type { BenchContext } from '../support/benchmark';
import { runHttpLoad } from '../support/http-load';
import { formatInt, median, round, spreadPct } from '../support/report';
import { cacheDelta, cacheStats, getJson, httpOptions } from './apps';
import {
  ACTIVE_PATH,
  type CachedResult,
  type HttpSide,
  type HttpSideResult,
  type HttpWindow,
  type RatioResult,
  type RunningApp,
  type Settings,
} from './types';

/**
 * (a)/(b): `GET ACTIVE_PATH` on every side in `targets` (the bare app and the cached sides),
 * primed and warmed first, then one window per side and round, the order rotating every round;
 * then what one hit costs without HTTP, in-process on the memory side.
 */
export async function measureCached(
  ctx: BenchContext,
  targets: Partial<Record<HttpSide, RunningApp>> & Record<'memory', RunningApp>,
  settings: Settings,
): Promise<CachedResult> {
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
      windows[side].push(await measureWindow(targets[side] as RunningApp, side, settings));
    }
  }
  ctx.log(
    `  req/s per round: ` +
      httpSides
        .map((s) => `${s} ${windows[s].map((w) => formatInt(w.perSecond)).join(' ')}`)
        .join(' | '),
  );
  const result = summarizeCached(windows, httpSides);
  // What one hit costs without HTTP: the repository's cached read, one caller, in-process.
  const repository = targets.memory.app.get(ModelConfigsRepository);
  const hitSample = await measureSequential(async () => {
    if (!(await repository.findActive('embedding'))) throw new Error('no active config');
  }, 1000);
  result.inProcessHit = {
    perSecond: round(hitSample.perSecond),
    cpuUsPerOp: round(hitSample.cpuUsPerOp, 1),
  };
  return result;
}

/** One window of `ACTIVE_PATH` on one side, with the cache counters' change on cached sides. */
async function measureWindow(
  target: RunningApp,
  side: HttpSide,
  settings: Settings,
): Promise<HttpWindow> {
  const cached = side !== 'bare';
  const before = cached ? await cacheStats(target.origin) : undefined;
  const keptBefore = cached ? target.app.get(ResponseCache).stats() : undefined;
  const sample: HttpWindow = await runHttpLoad(httpOptions(target, ACTIVE_PATH, settings, false));
  if (before) {
    sample.cache = cacheDelta(before, await cacheStats(target.origin));
    const keptAfter = target.app.get(ResponseCache).stats();
    sample.keptResponses = {
      hits: keptAfter.hits - (keptBefore?.hits ?? 0),
      misses: keptAfter.misses - (keptBefore?.misses ?? 0),
      storeChecks: keptAfter.storeChecks - (keptBefore?.storeChecks ?? 0),
    };
  }
  return sample;
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

/** One side's HTTP windows, rounded, with their medians. */
export function summarizeHttp(windows: readonly HttpWindow[]): HttpSideResult {
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
