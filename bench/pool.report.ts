import type { BenchContext } from './support/benchmark';
import type { LoadSample } from './support/load';
import { formatInt, markdownTable, median, round, spreadPct } from './support/report';

/** The three ways the pool benchmark reads a row. */
export type Side = 'ceiling' | 'readAll' | 'client';

/** One side's rounds at one concurrency level. */
export interface SideResult {
  samples: LoadSample[];
  medianPerSecond: number;
  bestPerSecond: number;
  /** (max − min) / median of the rounds, in percent. */
  spreadPct: number;
  medianCpuUsPerOp: number;
  medianEventLoopUtilization: number;
}

/** Everything measured at one concurrency level. */
export interface LevelResult {
  concurrency: number;
  poolMax: number;
  sides: Record<Side, SideResult>;
  /** client ÷ ceiling reads/s of each round (the sides of a round ran back to back). */
  roundRatios: number[];
  /** The median of `roundRatios`. */
  ratio: number;
  /** `(1 − ratio) × 100`: the share of the ceiling's throughput the library costs. */
  overheadPct: number;
  /** Median per-round client ÷ `runAndReadAll` ratio: the facade alone, driver path aside. */
  facadeRatio: number;
  /** Client CPU per read ÷ ceiling CPU per read − 1, in percent: steadier when neighbours are busy. */
  cpuOverheadPct: number;
  /** The median share of the machine other processes used during this level's windows. */
  foreignCpuShare: number;
}

/** The target the verdict checks. */
export const MAX_OVERHEAD_PCT = 10;

/** Median, best, spread and CPU of one side's rounds, rounded for the report. */
export function summarize(samples: readonly LoadSample[]): SideResult {
  const perSecond = samples.map((s) => s.perSecond);
  return {
    samples: samples.map((s) => ({
      ...s,
      perSecond: round(s.perSecond),
      elapsedMs: round(s.elapsedMs),
      cpuUsPerOp: round(s.cpuUsPerOp, 1),
      eventLoopUtilization: round(s.eventLoopUtilization, 3),
      foreignCpuShare: round(s.foreignCpuShare, 3),
    })),
    medianPerSecond: round(median(perSecond)),
    bestPerSecond: round(Math.max(...perSecond)),
    spreadPct: round(spreadPct(perSecond), 1),
    medianCpuUsPerOp: round(median(samples.map((s) => s.cpuUsPerOp)), 1),
    medianEventLoopUtilization: round(median(samples.map((s) => s.eventLoopUtilization)), 3),
  };
}

/** Prints the result tables and the verdict line. */
export function printReport(ctx: BenchContext, levels: readonly LevelResult[]): void {
  ctx.log('\nPoint reads by primary key. reads/s: median of the rounds; ratio: median of the');
  ctx.log('per-round DuckDbClient ÷ ceiling ratios (the sides of a round ran back to back).\n');
  ctx.log(
    markdownTable(
      ['concurrency', 'raw ceiling reads/s', 'DuckDbClient reads/s', 'ratio', 'pool overhead %'],
      levels.map((l) => [
        `${l.concurrency} (pool max ${l.poolMax})`,
        formatInt(l.sides.ceiling.medianPerSecond),
        formatInt(l.sides.client.medianPerSecond),
        l.ratio.toFixed(3),
        l.overheadPct.toFixed(1),
      ]),
    ),
  );
  ctx.log('\nWhere it goes. runAndReadAll: the raw driver path the library uses; facade ratio:');
  ctx.log('DuckDbClient ÷ runAndReadAll. CPU per read: every thread of this process, µs.');
  ctx.log('neighbours: share of the machine other processes used while measuring.\n');
  ctx.log(
    markdownTable(
      [
        'concurrency',
        'runAndReadAll reads/s',
        'facade ratio',
        'CPU µs ceiling / readAll / client',
        'CPU overhead %',
        'ELU ceiling / client',
        'neighbours',
      ],
      levels.map((l) => [
        String(l.concurrency),
        formatInt(l.sides.readAll.medianPerSecond),
        l.facadeRatio.toFixed(3),
        (['ceiling', 'readAll', 'client'] as const)
          .map((side) => l.sides[side].medianCpuUsPerOp.toFixed(0))
          .join(' / '),
        l.cpuOverheadPct.toFixed(1),
        `${l.sides.ceiling.medianEventLoopUtilization.toFixed(2)} / ${l.sides.client.medianEventLoopUtilization.toFixed(2)}`,
        `${(l.foreignCpuShare * 100).toFixed(0)}%`,
      ]),
    ),
  );
  const worst = levels.reduce((a, b) => (b.overheadPct > a.overheadPct ? b : a));
  const worstCpu = levels.reduce((a, b) => (b.cpuOverheadPct > a.cpuOverheadPct ? b : a));
  const busiest = Math.max(...levels.map((l) => l.foreignCpuShare));
  const verdict = (pct: number) => (pct < MAX_OVERHEAD_PCT ? 'MET' : 'MISSED');
  ctx.log(
    `\nVerdict on "the pool costs under ${MAX_OVERHEAD_PCT}% of the ceiling at every level": ` +
      `reads/s ${verdict(worst.overheadPct)} (worst ${worst.overheadPct.toFixed(1)}% at ` +
      `${worst.concurrency} callers); CPU per read ${verdict(worstCpu.cpuOverheadPct)} (worst ` +
      `${worstCpu.cpuOverheadPct.toFixed(1)}% at ${worstCpu.concurrency} callers).` +
      (busiest > 0.1
        ? ` Other processes used up to ${(busiest * 100).toFixed(0)}% of the machine, so the ` +
          'reads/s ratios are noisy: trust the CPU figure, or rerun on a quiet machine.'
        : ''),
  );
}
