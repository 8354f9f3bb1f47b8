import type { BenchContext } from '../support/benchmark';
import type { ProbeDetail } from '../support/memory-probe';
import { round } from '../support/report';
import type { Counters } from './counters';
import type { RssAnalysis } from './rss-stats';
import { fmtMiB, mib, type Second, type Settings } from './types';

/** Everything the soak measured, as {@link writeSoakResults} writes it. */
export interface SoakOutcome {
  settings: Settings;
  elapsedS: number;
  counters: Counters;
  rss: RssAnalysis;
  /** The differences between the server's final state and the acknowledged writes. */
  lost: string[];
  /** DuckDB's settings and memory by tag at the end, from the probe. */
  duckdb?: ProbeDetail;
  seconds: Second[];
}

/**
 * Why the run fails: RSS floor growth over the limit (judged runs only), any 5xx or transport
 * error, a write with an unexpected status or a differing acknowledgement, a lost write.
 */
export function failuresOf({ settings, counters, rss, lost }: SoakOutcome): string[] {
  const failures: string[] = [];
  const { judgedGrowth } = rss;
  if (judgedGrowth !== undefined && mib(judgedGrowth) > settings.growthLimitMiB) {
    failures.push(
      `RSS grew ${fmtMiB(judgedGrowth)} MiB after the first minute beyond DuckDB's own memory ` +
        `(limit ${settings.growthLimitMiB})`,
    );
  }
  if (counters.serverErrors > 0) failures.push(`${counters.serverErrors} responses were 5xx`);
  if (counters.transportErrors > 0) failures.push(`${counters.transportErrors} transport errors`);
  if (counters.unexpected > 0)
    failures.push(`${counters.unexpected} writes got an unexpected status`);
  if (counters.wrongAcks > 0)
    failures.push(`${counters.wrongAcks} acknowledgements differed from the request`);
  if (lost.length > 0) failures.push(`${lost.length} acknowledged writes not read back`);
  return failures;
}

/** Prints PASS, or FAIL with the reasons and sets the exit code to 1. */
export function printVerdict(ctx: BenchContext, failures: readonly string[]): void {
  ctx.log('');
  if (failures.length === 0)
    ctx.log('PASS: RSS flat after the first minute, no 5xx, every acknowledged write read back');
  else {
    ctx.log(`FAIL: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
}

/** Writes `bench/results/soak.json`: settings, counters, floors, differences and every second. */
export function writeSoakResults(
  ctx: BenchContext,
  outcome: SoakOutcome,
  failures: readonly string[],
): Promise<string> {
  const { settings, elapsedS, counters, rss, lost, duckdb, seconds } = outcome;
  return ctx.writeResults('soak', {
    settings,
    elapsedS,
    counters: { ...counters, byStatus: Object.fromEntries(counters.byStatus) },
    growthBytes: rss.growth,
    duckdbGrowthBytes: rss.duckdbGrowth,
    judgedGrowthBytes: rss.judgedGrowth,
    floorEarlyBytes: rss.floorEarly,
    floorLateBytes: rss.floorLate,
    lost: lost.slice(0, 100),
    duckdb,
    seconds: seconds.map((s) => ({
      t: s.t,
      rssMiB: round(mib(s.rss), 1),
      heapMiB: s.probe && round(mib(s.probe.heapUsed), 1),
      externalMiB: s.probe && round(mib(s.probe.external), 1),
      duckdbMiB: s.probe?.duckdb === undefined ? undefined : round(mib(s.probe.duckdb), 1),
    })),
    failures,
  });
}
