import type { BenchContext } from '../support/benchmark';
import {
  type BatchSample,
  batchCpuUsPerOp,
  batchPerSecond,
  cycleRatios,
} from '../support/interleave';
import { formatInt, markdownTable, median, round, spreadPct } from '../support/report';
import type { RouteWindows, Window } from './measure';

/** The sides of `npm run bench -- http`. */
export type Target = 'raw' | 'nest' | 'hand' | 'service';

export const TARGET_LABEL: Record<Target, string> = {
  raw: 'raw Fastify (fixed body)',
  nest: 'bare Nest (fixed body)',
  hand: 'hand-written Fastify + DuckDB',
  service: 'this service',
};

/** One target on one route: medians over rounds, and ratios of per-round figures. */
export interface TargetSummary {
  perSecond: number;
  spreadPct: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  non2xx: number;
  errors: number;
  /** Median over rounds of (this target's req/s ÷ the hand-written server's in the same round). */
  vsHand: number;
  /** The same against raw Fastify. */
  vsRaw: number;
  /** Median over rounds of this target's server CPU per request ÷ the hand-written server's. */
  cpuVsHand: number;
}

export type RouteSummary = Record<Target, TargetSummary>;

/** A round's window as an interleave cycle, so `cycleRatios` gives median per-round ratios. */
function asBatch(w: Window): BatchSample {
  return { ops: w.ok, errors: w.non2xx + w.errors, elapsedMs: w.elapsedMs, cpuUs: w.childCpuUs };
}

export function summarize(windows: RouteWindows<Target>): Record<string, RouteSummary> {
  const out: Record<string, RouteSummary> = {};
  for (const [route, byTarget] of Object.entries(windows)) {
    const targets = Object.keys(byTarget) as Target[];
    const rounds = byTarget.hand.length;
    const cycles = Array.from({ length: rounds }, (_, i) =>
      Object.fromEntries(targets.map((t) => [t, asBatch(byTarget[t][i])])),
    ) as Record<Target, BatchSample>[];
    const summary = {} as RouteSummary;
    for (const t of targets) {
      const ws = byTarget[t];
      summary[t] = {
        perSecond: round(median(ws.map((w) => w.perSecond))),
        spreadPct: round(spreadPct(ws.map((w) => w.perSecond)), 1),
        p50Ms: round(median(ws.map((w) => w.latencyP50Ms)), 2),
        p99Ms: round(median(ws.map((w) => w.latencyP99Ms)), 2),
        cpuUsPerRequest: round(median(ws.map((w) => w.childCpuUsPerRequest)), 1),
        non2xx: ws.reduce((n, w) => n + w.non2xx, 0),
        errors: ws.reduce((n, w) => n + w.errors + w.timeouts, 0),
        vsHand: round(cycleRatios(cycles, t, 'hand', batchPerSecond).median, 3),
        vsRaw: round(cycleRatios(cycles, t, 'raw', batchPerSecond).median, 3),
        cpuVsHand: round(cycleRatios(cycles, t, 'hand', batchCpuUsPerOp).median, 3),
      };
    }
    out[route] = summary;
  }
  return out;
}

/** Within ±3% counts as a tie: rounds of the same server differ by more than that. */
function verdict(vsHand: number): string {
  if (!Number.isFinite(vsHand)) return '—';
  if (vsHand > 1.03) return `wins by ${((vsHand - 1) * 100).toFixed(0)}%`;
  if (vsHand >= 0.97) return 'ties';
  return `loses by ${((1 - vsHand) * 100).toFixed(0)}%`;
}

const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '—');

/** Prints the full table and the service-against-hand-written digest. */
export function printSummary(ctx: BenchContext, summaries: Record<string, RouteSummary>): void {
  const rows: string[][] = [];
  for (const [route, summary] of Object.entries(summaries)) {
    for (const t of Object.keys(summary) as Target[]) {
      const s = summary[t];
      rows.push([
        `${route} — ${TARGET_LABEL[t]}`,
        formatInt(s.perSecond),
        s.p99Ms.toFixed(1),
        formatInt(s.cpuUsPerRequest),
        ratio(s.vsHand),
        ratio(s.vsRaw),
        s.non2xx + s.errors > 0 ? `${formatInt(s.non2xx)} / ${formatInt(s.errors)}` : '',
      ]);
    }
  }
  ctx.log('');
  ctx.log(
    markdownTable(
      [
        'route — server',
        'req/s',
        'p99 ms',
        'CPU µs/req',
        '÷ hand-written',
        '÷ raw Fastify',
        'non-2xx / errors',
      ],
      rows,
    ),
  );
  ctx.log('\nThis service against the hand-written server (medians of per-round ratios):\n');
  ctx.log(
    markdownTable(
      ['route', 'service req/s', 'hand-written req/s', 'req/s ratio', 'CPU/req ratio', 'verdict'],
      Object.entries(summaries).map(([route, s]) => [
        route,
        formatInt(s.service.perSecond),
        formatInt(s.hand.perSecond),
        ratio(s.service.vsHand),
        ratio(s.service.cpuVsHand),
        verdict(s.service.vsHand),
      ]),
    ),
  );
}
