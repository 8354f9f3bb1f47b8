import { summarize } from '../pool.report';
import type { BenchContext } from './benchmark';
import {
  type BatchSample,
  type InterleavedResult,
  batchCpuUsPerOp,
  batchPerSecond,
  cycleRatios,
  runInterleaved,
} from './interleave';
import type { LoadSample, Operation } from './load';
import { formatInt, median, round } from './report';
import { type LevelResult, type Ratio, SIDES, type Side } from './transactions-report';

/** How the transactions benchmark measures one level (see its options). */
export interface LevelSettings {
  rounds: number;
  /** Wall time of one round, the three sides together. */
  roundMs: number;
  /** Operations per batch and caller. */
  batch: number;
  warmupMs: number;
  /** The module pool's size, and as many raw connections. */
  poolMax: number;
}

/** One level: the sides interleaved in batches, a checkpoint between rounds; ratios against raw. */
export async function measureLevel(
  ctx: BenchContext,
  concurrency: number,
  callers: Record<Side, Operation[]>,
  settings: LevelSettings,
  checkpoint: () => Promise<void>,
): Promise<LevelResult> {
  const measured = await runInterleaved(SIDES, callers, {
    batchOps: settings.batch * concurrency,
    rounds: settings.rounds,
    roundMs: settings.roundMs,
    warmupMs: settings.warmupMs,
    betweenRounds: checkpoint,
  });
  const { rounds, cycles } = measured;
  logLevel(ctx, concurrency, measured);
  const ratio = (side: 'manager' | 'decorator', of: RatioOf) => levelRatio(measured, side, of);
  const throughput = {
    manager: ratio('manager', THROUGHPUT),
    decorator: ratio('decorator', THROUGHPUT),
  };
  const cpu = { manager: ratio('manager', CPU), decorator: ratio('decorator', CPU) };
  const deltas = cycles
    .filter((c) => c.decorator.ops > 0 && c.raw.ops > 0)
    .map((c) => batchCpuUsPerOp(c.decorator) - batchCpuUsPerOp(c.raw));
  return {
    concurrency,
    connections: settings.poolMax,
    sides: {
      raw: summarize(rounds.raw),
      manager: summarize(rounds.manager),
      decorator: summarize(rounds.decorator),
    },
    throughput,
    cpu,
    overheadPct: round((1 - throughput.decorator.median) * 100, 2),
    cpuOverheadPct: round((cpu.decorator.median - 1) * 100, 2),
    cpuDeltaUs: round(deltas.length > 0 ? median(deltas) : NaN, 1),
    foreignCpuShare: round(
      median(SIDES.flatMap((s) => rounds[s].map((x) => x.foreignCpuShare))),
      3,
    ),
  };
}

/** Errors of each side, then each round's updates/s. */
function logLevel(ctx: BenchContext, concurrency: number, measured: InterleavedResult<Side>): void {
  const { rounds, cycles } = measured;
  for (const side of SIDES) {
    const errors = rounds[side].reduce((n, s) => n + s.errors, 0);
    const first = rounds[side].find((s) => s.firstError)?.firstError;
    if (errors > 0) ctx.log(`  ${side} ×${concurrency}: ${errors} errors; first: ${first}`);
  }
  ctx.log(
    `  ${concurrency} callers, updates/s per round: ` +
      SIDES.map((s) => `${s} ${rounds[s].map((x) => formatInt(x.perSecond)).join(' ')}`).join(
        ' | ',
      ) +
      ` (${cycles.length} cycles)`,
  );
}

/** What a ratio compares: a figure of one batch (per cycle) and of one round. */
interface RatioOf {
  batch: (b: BatchSample) => number;
  round: (s: LoadSample) => number;
}
const THROUGHPUT: RatioOf = { batch: batchPerSecond, round: (s) => s.perSecond };
const CPU: RatioOf = { batch: batchCpuUsPerOp, round: (s) => s.cpuUsPerOp };

/** `side` ÷ raw: the median and quartiles over cycles, and each round's. */
function levelRatio(
  { rounds, cycles }: InterleavedResult<Side>,
  side: 'manager' | 'decorator',
  of: RatioOf,
): Ratio {
  const perCycle = cycleRatios(cycles, side, 'raw', of.batch);
  return {
    median: round(perCycle.median, 4),
    q1: round(perCycle.q1, 4),
    q3: round(perCycle.q3, 4),
    cycles: perCycle.cycles,
    rounds: rounds[side].map((s, i) => round(of.round(s) / of.round(rounds.raw[i]), 4)),
  };
}
