import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** One operation of one caller; it throws when its result is wrong. */
export type Operation = () => Promise<unknown>;

/** Timing of a closed-loop run. */
export interface LoadOptions {
  /** Time the callers run before counting starts. */
  warmupMs: number;
  /** Time during which completed operations are counted. */
  durationMs: number;
}

/** What one closed-loop run measured. */
export interface LoadSample {
  /** Operations completed inside the measured window. */
  ops: number;
  /** Operations that threw inside the measured window (not counted in `ops`). */
  errors: number;
  /** The first error seen, for the report. */
  firstError?: string;
  /** The measured window, from the clock (timers fire late under load). */
  elapsedMs: number;
  /** `ops` per second. */
  perSecond: number;
  /** Process CPU time (user + system, every thread) per completed operation, in µs. */
  cpuUsPerOp: number;
  /** Event-loop utilization in the window (0–1): near 1 means the JS thread is the bottleneck. */
  eventLoopUtilization: number;
  /**
   * Share of the machine's CPU (0–1, all cores) that other processes used in the window: above a
   * few percent, throughput figures measure the neighbours as much as the code.
   */
  foreignCpuShare: number;
}

/**
 * Runs each operation in its own closed loop (a caller awaits one operation, then starts the next)
 * until the window closes, so `callers.length` operations are in flight at all times. Operations
 * that complete after the window are not counted; the call resolves once every caller has stopped.
 *
 * @example
 * const sample = await runClosedLoop([op, op, op, op], { warmupMs: 1000, durationMs: 3000 });
 */
export async function runClosedLoop(
  callers: readonly Operation[],
  options: LoadOptions,
): Promise<LoadSample> {
  let measuring = false;
  let stopped = false;
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;

  const loop = async (op: Operation): Promise<void> => {
    while (!stopped) {
      try {
        await op();
        if (measuring) ops++;
      } catch (error) {
        if (measuring) errors++;
        firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    }
  };
  const running = callers.map(loop);

  await sleep(options.warmupMs);
  measuring = true;
  const cpuStart = process.cpuUsage();
  const machineStart = machineBusyMs();
  const eluStart = performance.eventLoopUtilization();
  const start = performance.now();
  await sleep(options.durationMs);
  measuring = false;
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const machine = machineBusyMs() - machineStart;
  const elu = performance.eventLoopUtilization(eluStart);
  const ownMs = (cpu.user + cpu.system) / 1000;
  stopped = true;
  await Promise.all(running);

  return {
    ops,
    errors,
    firstError,
    elapsedMs,
    perSecond: (ops * 1000) / elapsedMs,
    cpuUsPerOp: ops === 0 ? 0 : (cpu.user + cpu.system) / ops,
    eventLoopUtilization: elu.utilization,
    foreignCpuShare: Math.max(0, (machine - ownMs) / (elapsedMs * os.cpus().length)),
  };
}

/** CPU time every core spent busy since boot, in ms (10 ms resolution on Linux). */
export function machineBusyMs(): number {
  let busy = 0;
  for (const { times } of os.cpus()) busy += times.user + times.nice + times.sys + times.irq;
  return busy;
}
