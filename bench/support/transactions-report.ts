import type { SideResult } from '../pool.report';
import type { BenchContext } from './benchmark';
import { formatInt, markdownTable } from './report';

/** The target the verdict checks: `@Transactional` costs under this share of the raw ceiling. */
export const MAX_OVERHEAD_PCT = 5;

/**
 * The ways one caller updates one row in its own transaction:
 *
 * - `raw`: a hand-written `BEGIN TRANSACTION` / prepared `UPDATE` / `COMMIT` on a pinned driver
 *   connection of the same DuckDB instance (the ceiling);
 * - `manager`: `DuckDbClient.transaction(() => db.execute(…))`: the transaction manager without the
 *   decorator, to tell the two apart;
 * - `decorator`: a Nest provider's `@Transactional()` method doing `db.execute(…)`.
 */
export type Side = 'raw' | 'manager' | 'decorator';
/** Every side, in the order of the report. */
export const SIDES: readonly Side[] = ['raw', 'manager', 'decorator'];
const SIDE_LABEL: Record<Side, string> = {
  raw: 'raw BEGIN / prepared UPDATE / COMMIT',
  manager: 'DuckDbClient.transaction()',
  decorator: '@Transactional()',
};

/** A ratio as the median of per-cycle ratios, with their quartiles and per-round aggregates. */
export interface Ratio {
  /** Median over cycles (one batch of each side back to back) of side ÷ raw. */
  median: number;
  q1: number;
  q3: number;
  cycles: number;
  /** side ÷ raw of each round's sums (lowest and highest shown in the report). */
  rounds: number[];
}

/** Everything measured at one number of concurrent callers. */
export interface LevelResult {
  concurrency: number;
  /** Driver connections each side uses: the pool's `max`, and as many raw ones. */
  connections: number;
  sides: Record<Side, SideResult>;
  /** updates/s ratios against raw. */
  throughput: Record<'manager' | 'decorator', Ratio>;
  /** CPU-per-update ratios against raw. */
  cpu: Record<'manager' | 'decorator', Ratio>;
  /** `(1 − decorator throughput ratio) × 100`. */
  overheadPct: number;
  /** `(decorator CPU ratio − 1) × 100`. */
  cpuOverheadPct: number;
  /** decorator − raw CPU per update (median over cycles), µs. */
  cpuDeltaUs: number;
  foreignCpuShare: number;
}

/** `median (q1–q3; lowest–highest round)` of a ratio. */
const show = (r: Ratio) =>
  `${r.median.toFixed(3)} (${r.q1.toFixed(2)}–${r.q3.toFixed(2)}; ${Math.min(...r.rounds).toFixed(2)}–${Math.max(...r.rounds).toFixed(2)})`;

/** Prints the throughput and CPU tables and the verdict line; `rounds` as run, for a caveat. */
export function printReport(
  ctx: BenchContext,
  levels: readonly LevelResult[],
  rounds: number,
): void {
  printThroughput(ctx, levels);
  printCpu(ctx, levels);
  printVerdict(ctx, levels, rounds);
}

function printThroughput(ctx: BenchContext, levels: readonly LevelResult[]): void {
  ctx.log('\nOne-row UPDATE, one transaction per call. updates/s, CPU µs/op: medians of the');
  ctx.log(
    'rounds (CPU: every thread of this process: JS, libuv pool, DuckDB); µs/op: wall time per',
  );
  ctx.log(
    'update, 1 s ÷ updates/s (× callers = mean latency). ratio: median over cycles (one batch',
  );
  ctx.log('of each side, back to back) of side ÷ raw updates/s; in brackets the quartiles of the');
  ctx.log('cycle ratios, then the lowest and highest whole-round ratio.\n');
  const rows: string[][] = [];
  for (const level of levels) {
    for (const side of SIDES) {
      const s = level.sides[side];
      rows.push([
        `${level.concurrency} × ${SIDE_LABEL[side]}`,
        formatInt(s.medianPerSecond),
        (1e6 / s.medianPerSecond).toFixed(0),
        s.medianCpuUsPerOp.toFixed(0),
        side === 'raw' ? '1.000' : show(level.throughput[side]),
        side === 'raw' ? '' : ((1 - level.throughput[side].median) * 100).toFixed(1),
      ]);
    }
  }
  ctx.log(
    markdownTable(
      [
        'callers × side',
        'updates/s',
        'µs/op',
        'CPU µs/op',
        'ratio (quartiles; rounds)',
        'overhead %',
      ],
      rows,
    ),
  );
}

function printCpu(ctx: BenchContext, levels: readonly LevelResult[]): void {
  ctx.log('\nCPU per update against raw, the same way (median of per-cycle ratios, quartiles).');
  ctx.log('CPU Δ: median per-cycle difference, @Transactional() − raw. neighbours: share of the');
  ctx.log('machine other processes used while measuring.\n');
  ctx.log(
    markdownTable(
      [
        'callers',
        'CPU ratio manager',
        'CPU ratio @Transactional()',
        'CPU Δ µs',
        'CPU overhead %',
        'cycles',
        'neighbours',
      ],
      levels.map((l) => [
        `${l.concurrency} (pool max ${l.connections})`,
        show(l.cpu.manager),
        show(l.cpu.decorator),
        l.cpuDeltaUs.toFixed(0),
        l.cpuOverheadPct.toFixed(1),
        String(l.cpu.decorator.cycles),
        `${(l.foreignCpuShare * 100).toFixed(0)}%`,
      ]),
    ),
  );
}

function printVerdict(ctx: BenchContext, levels: readonly LevelResult[], rounds: number): void {
  const worst = levels.reduce((a, b) => (b.overheadPct > a.overheadPct ? b : a));
  const worstCpu = levels.reduce((a, b) => (b.cpuOverheadPct > a.cpuOverheadPct ? b : a));
  const busiest = Math.max(...levels.map((l) => l.foreignCpuShare));
  const verdict = (pct: number) => (pct < MAX_OVERHEAD_PCT ? 'MET' : 'MISSED');
  ctx.log(
    `\nVerdict on "@Transactional() costs under ${MAX_OVERHEAD_PCT}% of a hand-written ` +
      `transaction": updates/s ${verdict(worst.overheadPct)} (worst ` +
      `${worst.overheadPct.toFixed(1)}% at ${worst.concurrency} callers); CPU per update ` +
      `${verdict(worstCpu.cpuOverheadPct)} (worst ${worstCpu.cpuOverheadPct.toFixed(1)}% at ` +
      `${worstCpu.concurrency} callers).` +
      (busiest > 0.1
        ? ` Other processes used up to ${(busiest * 100).toFixed(0)}% of the machine; the ` +
          'quartiles show how far single cycles disagreed.'
        : '') +
      (rounds < 5 ? ` Only ${rounds} rounds: rerun with more for a verdict.` : ''),
  );
}
