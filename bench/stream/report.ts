import { cpus } from 'node:os';
import type { BenchContext } from '../support/benchmark';
import { formatInt, markdownTable, round } from '../support/report';
import type { LatencyStats, PhaseResult } from './analyse';
import type { StreamSettings } from './measure';

const ms = (value: number) => value.toFixed(2);
const us = (value: number) => formatInt(value);

const label = (phase: PhaseResult, settings: StreamSettings) =>
  phase.mode === 'poll'
    ? `poll every ${settings.pollMs} ms × 1`
    : `stream × ${formatInt(phase.subscribers)}`;

/** The main table: latency to the client, and the server's CPU per event. */
export function printLatencyTable(
  ctx: BenchContext,
  phases: readonly PhaseResult[],
  settings: StreamSettings,
): void {
  const header = [
    'client',
    'events',
    'deliveries',
    'from 2xx mean ms',
    'p50 ms',
    'p99 ms',
    'from request p50 ms',
    'p99 ms',
    'server CPU ms',
    'CPU µs/event',
    'µs/event/sub',
  ];
  const rows = phases.map((phase) => [
    label(phase, settings),
    formatInt(phase.events),
    formatInt(phase.deliveries),
    ms(phase.fromResponse.mean),
    ms(phase.fromResponse.p50),
    ms(phase.fromResponse.p99),
    ms(phase.fromRequestStart.p50),
    ms(phase.fromRequestStart.p99),
    formatInt(phase.serverCpuMs),
    us(phase.serverCpuPerEventUs),
    phase.serverCpuPerEventPerSubscriberUs >= 100
      ? us(phase.serverCpuPerEventPerSubscriberUs)
      : phase.serverCpuPerEventPerSubscriberUs.toFixed(1),
  ]);
  ctx.log(markdownTable(header, rows));
}

/** Details: the fan-out's end, the PATCH itself, the marginal cost of a subscriber. */
export function printDetailTable(
  ctx: BenchContext,
  phases: readonly PhaseResult[],
  settings: StreamSettings,
): void {
  const one = phases.find((phase) => phase.mode === 'stream' && phase.subscribers === 1);
  const header = [
    'client',
    'last sub p50 ms',
    'last sub p99 ms',
    'max ms',
    'before 2xx',
    'PATCH p50 ms',
    'marginal µs/sub/event',
    'subscriber proc CPU ms',
  ];
  const rows = phases.map((phase) => {
    const marginal =
      one && phase.mode === 'stream' && phase.subscribers > 1
        ? (phase.serverCpuPerEventUs - one.serverCpuPerEventUs) / (phase.subscribers - 1)
        : undefined;
    return [
      label(phase, settings),
      ms(phase.lastFromResponse.p50),
      ms(phase.lastFromResponse.p99),
      ms(phase.fromResponse.max),
      `${phase.beforeResponsePct.toFixed(1)}%`,
      ms(phase.patchRoundTrip.p50),
      marginal === undefined ? '' : marginal.toFixed(1),
      formatInt(phase.subscriberProcessCpuMs),
    ];
  });
  ctx.log(markdownTable(header, rows));
}

const roundStats = (stats: LatencyStats): Record<string, number> =>
  Object.fromEntries(Object.entries(stats).map(([key, value]) => [key, round(value, 3)]));

/** Writes `bench/results/stream.json`; returns its path. */
export function writeStreamResults(
  ctx: BenchContext,
  settings: StreamSettings,
  phases: readonly PhaseResult[],
): Promise<string> {
  return ctx.writeResults('stream', {
    benchmark: 'stream',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
    method: {
      clock: 'process.hrtime (CLOCK_MONOTONIC), shared by every process of the machine',
      fromResponse: 'arrival at a subscriber minus the moment the PATCH 2xx was read in full',
      fromRequestStart: 'arrival at a subscriber minus the moment the PATCH was sent',
      serverCpu: 'utime + stime of /proc/<pid>/stat (all threads), first PATCH to last delivery',
      pacing: 'one PATCH at a time; the next after full delivery and a random pause in [0, gapMs)',
    },
    settings,
    phases: phases.map((phase) => ({
      ...phase,
      fromResponse: roundStats(phase.fromResponse),
      fromRequestStart: roundStats(phase.fromRequestStart),
      lastFromResponse: roundStats(phase.lastFromResponse),
      patchRoundTrip: roundStats(phase.patchRoundTrip),
      serverCpuPerEventUs: round(phase.serverCpuPerEventUs, 1),
      serverCpuPerEventPerSubscriberUs: round(phase.serverCpuPerEventPerSubscriberUs, 2),
      clock: {
        rttMs: round(phase.clock.rttMs, 3),
        monotonicOffsetMs: round(phase.clock.monotonicOffsetMs, 3),
        wallOffsetMs: round(phase.clock.wallOffsetMs, 3),
      },
    })),
  });
}
