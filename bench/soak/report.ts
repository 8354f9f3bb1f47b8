import type { BenchContext } from '../support/benchmark';
import type { ProbeDetail, ProbeSample } from '../support/memory-probe';
import { formatInt } from '../support/report';
import { readRss } from '../support/server-process';
import type { Client } from './client';
import type { Counters } from './counters';
import { type RssAnalysis, slopeMiBPerMin } from './rss-stats';
import type { SoakServer } from './server';
import { fmtMiB, LANES, type Settings } from './types';
import type { Verification } from './verify';

/** The header of the table printed every 10 s. */
const TABLE_HEADER =
  '    t |  RSS MiB | heap used/total MiB | ext MiB | duckdb MiB |  req/s | writes/s |  5xx | errors';

/** The counters at the previous table line: rates are over the window since. */
export interface LineWindow {
  t: number;
  requests: number;
  writes: number;
}

/** What `/metrics` said at the end (after the load and the verification). */
export interface MetricsSummary {
  /** The `http_requests_total` series. */
  httpSeries: string[];
  /** How many of them are for unmatched routes. */
  unmatched: number;
  /** The value of an unlabelled metric, or `-`. */
  value(name: string): string;
}

/**
 * Prints the run's setup, DuckDB's settings (from the probe), the idle RSS at startup and the
 * table header.
 */
export async function printStart(
  ctx: BenchContext,
  server: SoakServer,
  settings: Settings,
): Promise<void> {
  const { app, build } = server;
  const overrides = Object.entries(settings.env).map(([k, v]) => `${k}=${v}`);
  ctx.log(
    `server pid ${app.pid} on ${app.baseUrl}, ${settings.connections} requests in flight, ` +
      `${Math.round(settings.writeShare * 100)}% writes over ${LANES} usage types, ${settings.durationS} s` +
      (overrides.length > 0 ? `; env ${overrides.join(' ')}` : '') +
      `; node flags: ${settings.nodeOptions.join(' ') || 'none'}` +
      (settings.gc ? '; full GC before each line' : '') +
      (build ? `; compiled build of ${build.root}` : '; ts-node'),
  );
  const before = await server.probe.requestDetail();
  if (before) ctx.log(`DuckDB settings: ${JSON.stringify(before.settings)}`);
  ctx.log(`RSS at startup (idle): ${fmtMiB(readRss(app.pid))} MiB`);
  ctx.log('');
  ctx.log(TABLE_HEADER);
}

/** One table line: RSS and the probe's figures at `t`, rates since `last`, errors so far. */
export function formatSecondLine(
  t: number,
  rss: number,
  p: ProbeSample | undefined,
  counters: Counters,
  last: LineWindow,
): string {
  const window = t - last.t;
  return (
    `${String(t).padStart(5)} | ${fmtMiB(rss).padStart(8)} | ` +
    `${`${fmtMiB(p?.heapUsed)} / ${fmtMiB(p?.heapTotal)}`.padStart(19)} | ` +
    `${fmtMiB(p?.external).padStart(7)} | ` +
    `${fmtMiB(p?.duckdb).padStart(10)} | ` +
    `${formatInt((counters.requests - last.requests) / window).padStart(6)} | ` +
    `${formatInt((counters.writes - last.writes) / window).padStart(8)} | ` +
    `${String(counters.serverErrors).padStart(4)} | ${counters.transportErrors}`
  );
}

/** Reads `/metrics` (an empty text when it does not answer). */
export async function readMetrics(client: Client): Promise<MetricsSummary> {
  const metrics = await client.send('GET', '/metrics').catch(() => undefined);
  const lines = (metrics?.text ?? '').split('\n');
  const httpSeries = lines.filter((line) => line.startsWith('http_requests_total{'));
  return {
    httpSeries,
    unmatched: httpSeries.filter((line) => line.includes('route="unmatched"')).length,
    value: (name) =>
      /^(\S+) (\S+)$/m.exec(lines.find((line) => line.startsWith(`${name} `)) ?? '')?.[2] ?? '-',
  };
}

/** Prints the requests, statuses, errors and final-state check, with the first problems. */
export function printTotals(
  ctx: BenchContext,
  counters: Counters,
  elapsedS: number,
  { checked, lost }: Verification,
): void {
  ctx.log(
    `requests ${formatInt(counters.requests)} in ${elapsedS.toFixed(0)} s (${formatInt(counters.requests / elapsedS)}/s): ` +
      `${formatInt(counters.reads)} reads, ${formatInt(counters.writes)} writes ` +
      `(${((counters.writes / Math.max(1, counters.requests)) * 100).toFixed(1)}%, ${formatInt(counters.writesOk)} acknowledged)`,
  );
  ctx.log(
    `statuses: ${[...counters.byStatus.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}: ${formatInt(v)}`)
      .join(', ')}`,
  );
  ctx.log(
    `5xx: ${counters.serverErrors}, transport errors: ${counters.transportErrors}, ` +
      `unexpected write statuses: ${counters.unexpected}, acks differing from the request: ${counters.wrongAcks}`,
  );
  ctx.log(`final state: ${checked} slots and deleted ids checked, ${lost.length} differences`);
  for (const line of [...counters.samples, ...lost.slice(0, 10)]) ctx.log(`  ${line}`);
}

/** Prints the metrics' series counts and cache figures, and DuckDB's state at the end. */
export function printServerState(
  ctx: BenchContext,
  metrics: MetricsSummary,
  after: ProbeDetail | undefined,
): void {
  ctx.log(
    `metrics: ${metrics.httpSeries.length} http_requests_total series (${metrics.unmatched} for unmatched routes); ` +
      `response_cache_entries ${metrics.value('response_cache_entries')}; ` +
      `query cache hits ${metrics.value('query_cache_hits_total')}, misses ${metrics.value('query_cache_misses_total')}`,
  );
  if (after) {
    ctx.log(`DuckDB at the end: ${JSON.stringify(after.settings)}`);
    const tags = Object.entries(after.tags)
      .sort(([, a], [, b]) => b - a)
      .map(([tag, bytes]) => `${tag} ${fmtMiB(bytes)} MiB`);
    ctx.log(`DuckDB memory by tag: ${tags.join(', ') || 'none'}`);
  }
}

/** Prints RSS after the first minute (extremes, peaks, trend) and the floors the verdict uses. */
export function printRss(ctx: BenchContext, rss: RssAnalysis, settings: Settings): void {
  const { afterMinute, at60, rawMin, rawMax, last, peak10s, around60 } = rss;
  if (afterMinute.length > 0 && at60 !== undefined) {
    ctx.log(
      `RSS after the first minute: min ${fmtMiB(rawMin)}, max ${fmtMiB(rawMax)}, at 60 s ${fmtMiB(at60)}, ` +
        `end ${fmtMiB(last?.rss)} MiB; max − at 60 s ${fmtMiB((rawMax ?? 0) - at60)} MiB, ` +
        `highest 10-s median − median of 55–65 s ${fmtMiB((peak10s ?? 0) - (around60 ?? 0))} MiB ` +
        `(peaks: V8's GC timing moves them); trend ${slopeMiBPerMin(afterMinute).toFixed(2)} MiB/min`,
    );
  }
  if (rss.growth !== undefined) {
    ctx.log(
      `RSS floor (10th percentile): ${fmtMiB(rss.floorEarly)} MiB in 60–120 s, ${fmtMiB(rss.floorLate)} MiB ` +
        `in the last minute: growth after the first minute ${fmtMiB(rss.growth)} MiB, of which DuckDB's ` +
        `buffer manager (the growing database) ${fmtMiB(rss.duckdbGrowth)} MiB: ` +
        `${fmtMiB(rss.judgedGrowth)} MiB judged (limit ${settings.growthLimitMiB} MiB)`,
    );
  } else {
    ctx.log('RSS growth after the first minute: not judged (runs shorter than 180 s)');
  }
}
