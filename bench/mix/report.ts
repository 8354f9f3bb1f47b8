import type { BenchContext } from '../support/benchmark';
import type { HttpKindSample } from '../support/http-load';
import { formatInt, markdownTable, round } from '../support/report';
import type { CheckerResult } from './checker';
import type { MixWindow } from './load';

/** The servers of the mix. */
export type MixTarget = 'service' | 'hand';

export const MIX_LABEL: Record<MixTarget, string> = {
  service: 'this service',
  hand: 'hand-written Fastify + DuckDB',
};

/** One measured half of one server, and what the checker saw during it. */
export interface Half {
  target: MixTarget;
  window: MixWindow;
  checker: CheckerResult;
}

/** One kind of request (reads or writes) of one server, over its halves. */
export interface KindSummary {
  ok: number;
  non2xx: number;
  perSecond: number;
  /** Means of the halves' percentiles (ms). */
  p50Ms: number;
  p99Ms: number;
}

/** One server over its halves. */
export interface MixSummary {
  seconds: number;
  reads: KindSummary;
  writes: KindSummary;
  errors: number;
  cpuUsPerRequest: number;
  checker: CheckerResult;
}

function kindSummary(halves: readonly Half[], kind: string, seconds: number): KindSummary {
  const samples = halves.map((h) => h.window.byKind[kind]);
  const of = (f: (k: HttpKindSample) => number) =>
    samples.reduce((sum, k) => sum + (k ? f(k) : 0), 0);
  const ok = of((k) => k.ok);
  return {
    ok,
    non2xx: of((k) => k.non2xx),
    perSecond: round(ok / seconds),
    p50Ms: round(of((k) => k.latencyP50Ms) / halves.length, 2),
    p99Ms: round(of((k) => k.latencyP99Ms) / halves.length, 2),
  };
}

export function summarizeMix(halves: readonly Half[]): Record<MixTarget, MixSummary> {
  const out = {} as Record<MixTarget, MixSummary>;
  for (const target of ['service', 'hand'] as const) {
    const mine = halves.filter((h) => h.target === target);
    const seconds = mine.reduce((s, h) => s + h.window.elapsedMs / 1000, 0);
    const requests = mine.reduce((s, h) => s + h.window.requests, 0);
    const cpu = mine.reduce((s, h) => s + h.window.childCpuUs, 0);
    const checker: CheckerResult = { checks: 0, stale: 0, failures: 0 };
    for (const { checker: c } of mine) {
      checker.checks += c.checks;
      checker.stale += c.stale;
      checker.failures += c.failures;
      checker.firstProblem ??= c.firstProblem;
    }
    out[target] = {
      seconds: round(seconds, 1),
      reads: kindSummary(mine, 'read', seconds),
      writes: kindSummary(mine, 'write', seconds),
      errors: mine.reduce((s, h) => s + h.window.errors, 0),
      cpuUsPerRequest: round(requests === 0 ? 0 : cpu / requests, 1),
      checker,
    };
  }
  return out;
}

const x = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : '—');

export function printMix(ctx: BenchContext, summary: Record<MixTarget, MixSummary>): void {
  const row = (t: MixTarget): string[] => {
    const s = summary[t];
    return [
      MIX_LABEL[t],
      formatInt(s.reads.perSecond),
      formatInt(s.writes.perSecond),
      s.reads.p50Ms.toFixed(2),
      s.reads.p99Ms.toFixed(2),
      s.writes.p50Ms.toFixed(2),
      s.writes.p99Ms.toFixed(2),
      formatInt(s.cpuUsPerRequest),
      `${formatInt(s.reads.non2xx + s.writes.non2xx)} / ${formatInt(s.errors)}`,
      `${s.checker.stale} / ${formatInt(s.checker.checks)}`,
    ];
  };
  const a = summary.service;
  const b = summary.hand;
  ctx.log('');
  ctx.log(
    markdownTable(
      [
        'server',
        'reads/s',
        'writes/s',
        'read p50 ms',
        'read p99 ms',
        'write p50 ms',
        'write p99 ms',
        'CPU µs/req',
        'non-2xx / errors',
        'stale / checks',
      ],
      [
        row('service'),
        row('hand'),
        [
          'service ÷ hand-written',
          x(a.reads.perSecond, b.reads.perSecond),
          x(a.writes.perSecond, b.writes.perSecond),
          x(a.reads.p50Ms, b.reads.p50Ms),
          x(a.reads.p99Ms, b.reads.p99Ms),
          x(a.writes.p50Ms, b.writes.p50Ms),
          x(a.writes.p99Ms, b.writes.p99Ms),
          x(a.cpuUsPerRequest, b.cpuUsPerRequest),
          '',
          '',
        ],
      ],
    ),
  );
  ctx.log(
    `\nRead-your-writes: this service ${a.checker.stale} stale of ${a.checker.checks * 2} reads ` +
      `(${a.checker.failures} failures), hand-written ${b.checker.stale} stale of ` +
      `${b.checker.checks * 2} (${b.checker.failures} failures).` +
      (a.checker.firstProblem ? ` Service's first problem: ${a.checker.firstProblem}.` : '') +
      (b.checker.firstProblem ? ` Hand-written's first problem: ${b.checker.firstProblem}.` : ''),
  );
}
