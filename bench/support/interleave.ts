import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { type LoadSample, type Operation, machineBusyMs } from './load';

/** Options of {@link runInterleaved}. */
export interface InterleaveOptions {
  /** Operations per batch, shared by the side's callers (they take tickets until none is left). */
  batchOps: number;
  /** Rounds; each gives one sample per side. */
  rounds: number;
  /** Wall time of one round, every side together. */
  roundMs: number;
  /** Time each side runs, unmeasured, before the first round. */
  warmupMs: number;
  /** Runs between rounds, untimed (e.g. a `CHECKPOINT`). */
  betweenRounds?: () => Promise<void>;
}

/** One batch of one side. */
export interface BatchSample {
  ops: number;
  errors: number;
  elapsedMs: number;
  cpuUs: number;
}

/** What {@link runInterleaved} measured. */
export interface InterleavedResult<S extends string> {
  /** One sample per side and round: the sums over the round's batches. */
  rounds: Record<S, LoadSample[]>;
  /**
   * Every cycle (one batch of each side, back to back), in order: ratios taken per cycle and
   * summarized by their median shrug off a stall that hit one batch (an fsync, a neighbour).
   */
  cycles: Record<S, BatchSample>[];
}

/**
 * The median over cycles of `of(a) ÷ of(b)`, and the quartiles, skipping cycles where either side
 * completed nothing.
 */
export function cycleRatios<S extends string>(
  cycles: readonly Record<S, BatchSample>[],
  a: S,
  b: S,
  of: (batch: BatchSample) => number,
): { median: number; q1: number; q3: number; cycles: number } {
  const ratios = cycles
    .filter((c) => c[a].ops > 0 && c[b].ops > 0)
    .map((c) => of(c[a]) / of(c[b]))
    .sort((x, y) => x - y);
  if (ratios.length === 0) return { median: NaN, q1: NaN, q3: NaN, cycles: 0 };
  const at = (q: number) => {
    const pos = (ratios.length - 1) * q;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return ratios[lo] + (ratios[hi] - ratios[lo]) * (pos - lo);
  };
  return { median: at(0.5), q1: at(0.25), q3: at(0.75), cycles: ratios.length };
}

/** Operations per second of one batch. */
export const batchPerSecond = (b: BatchSample): number => (b.ops * 1000) / b.elapsedMs;

/** CPU µs per operation of one batch. */
export const batchCpuUsPerOp = (b: BatchSample): number => b.cpuUs / b.ops;

interface Accumulator {
  ops: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  cpuUs: number;
  eluActive: number;
  eluIdle: number;
  machineMs: number;
}

/**
 * Measures several sides on a machine whose load changes from one second to the next: instead of
 * one window per side, the sides take turns in short batches (`batchOps` operations each, the
 * order rotating every batch), and each side's time, CPU and event-loop figures are the sums over
 * its batches. Neighbours' bursts then fall on every side alike, so per-round ratios between sides
 * are far steadier than with back-to-back windows of a second.
 *
 * Within a batch the side's callers run closed loops (each awaits one operation, then takes the
 * next ticket), so up to `callers.length` operations are in flight; every side pays the same
 * ramp-up and tail per batch.
 *
 * @example
 * const samples = await runInterleaved(['raw', 'lib'], { raw: [opA], lib: [opB] }, options);
 */
export async function runInterleaved<S extends string>(
  sides: readonly S[],
  callers: Record<S, readonly Operation[]>,
  options: InterleaveOptions,
): Promise<InterleavedResult<S>> {
  // Warm up each side (JIT, prepared statements, caches) without measuring.
  for (const side of sides) {
    const until = performance.now() + options.warmupMs;
    while (performance.now() < until) await runBatch(callers[side], options.batchOps);
  }
  const samples = Object.fromEntries(sides.map((s) => [s, [] as LoadSample[]])) as Record<
    S,
    LoadSample[]
  >;
  const cycles: Record<S, BatchSample>[] = [];
  let batch = 0;
  for (let round = 0; round < options.rounds; round++) {
    if (options.betweenRounds) await options.betweenRounds();
    const totals = Object.fromEntries(sides.map((s) => [s, emptyAccumulator()])) as Record<
      S,
      Accumulator
    >;
    const until = performance.now() + options.roundMs;
    while (performance.now() < until) {
      const cycle = {} as Record<S, BatchSample>;
      for (let i = 0; i < sides.length; i++) {
        const side = sides[(i + batch) % sides.length];
        cycle[side] = await measureBatch(callers[side], options.batchOps, totals[side]);
      }
      cycles.push(cycle);
      batch++;
    }
    for (const side of sides) samples[side].push(toSample(totals[side]));
  }
  return { rounds: samples, cycles };
}

function emptyAccumulator(): Accumulator {
  return { ops: 0, errors: 0, elapsedMs: 0, cpuUs: 0, eluActive: 0, eluIdle: 0, machineMs: 0 };
}

async function measureBatch(
  callers: readonly Operation[],
  ops: number,
  into: Accumulator,
): Promise<BatchSample> {
  const machineStart = machineBusyMs();
  const cpuStart = process.cpuUsage();
  const eluStart = performance.eventLoopUtilization();
  const start = performance.now();
  const result = await runBatch(callers, ops);
  const elapsed = performance.now() - start;
  const elu = performance.eventLoopUtilization(eluStart);
  const cpu = process.cpuUsage(cpuStart);
  into.machineMs += machineBusyMs() - machineStart;
  into.ops += result.ops;
  into.errors += result.errors;
  into.firstError ??= result.firstError;
  into.elapsedMs += elapsed;
  into.cpuUs += cpu.user + cpu.system;
  into.eluActive += elu.active;
  into.eluIdle += elu.idle;
  return {
    ops: result.ops,
    errors: result.errors,
    elapsedMs: elapsed,
    cpuUs: cpu.user + cpu.system,
  };
}

async function runBatch(
  callers: readonly Operation[],
  ops: number,
): Promise<{ ops: number; errors: number; firstError?: string }> {
  let tickets = ops;
  let done = 0;
  let errors = 0;
  let firstError: string | undefined;
  const loop = async (op: Operation): Promise<void> => {
    while (tickets > 0) {
      tickets--;
      try {
        await op();
        done++;
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    }
  };
  await Promise.all(callers.map(loop));
  return { ops: done, errors, firstError };
}

function toSample(a: Accumulator): LoadSample {
  const ownMs = a.cpuUs / 1000;
  return {
    ops: a.ops,
    errors: a.errors,
    firstError: a.firstError,
    elapsedMs: a.elapsedMs,
    perSecond: a.elapsedMs === 0 ? 0 : (a.ops * 1000) / a.elapsedMs,
    cpuUsPerOp: a.ops === 0 ? 0 : a.cpuUs / a.ops,
    eventLoopUtilization:
      a.eluActive + a.eluIdle === 0 ? 0 : a.eluActive / (a.eluActive + a.eluIdle),
    foreignCpuShare:
      a.elapsedMs === 0 ? 0 : Math.max(0, (a.machineMs - ownMs) / (a.elapsedMs * os.cpus().length)),
  };
}
