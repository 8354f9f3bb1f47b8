import { median } from '../support/report';
import { mib, type Second } from './types';

/** Runs shorter than this (seconds) are not judged on growth. */
export const JUDGED_FROM_S = 180;

/**
 * RSS after the first minute. The verdict compares floors, not peaks: V8 lets garbage pile up
 * between full GCs (a sawtooth of 30–70 MiB here), and whether a peak or a trough falls at 60 s
 * decides "max − RSS at 60 s" (0 to 65 MiB for the same code in our runs). The floor (10th
 * percentile of a minute, which holds at least one full GC) is the memory kept.
 */
export interface RssAnalysis {
  /** The last sample. */
  last?: Second;
  /** 10th percentile of 60–120 s. */
  floorEarly?: number;
  /** 10th percentile of the last minute. */
  floorLate?: number;
  /** `floorLate − floorEarly`; undefined when the run is shorter than {@link JUDGED_FROM_S}. */
  growth?: number;
  /**
   * What DuckDB's buffer manager holds more in the last minute than in 60–120 s (medians of the
   * probe's `duckdb_memory()`): the blocks of a database that grows with every write (history
   * and change log included), bounded by `DUCKDB_MEMORY_LIMIT`. Undefined without the probe.
   */
  duckdbGrowth?: number;
  /** `growth` less `duckdbGrowth` (when that is positive): what the verdict judges. */
  judgedGrowth?: number;
  /** The samples from 60 s on. */
  afterMinute: Second[];
  /** Median of 55–65 s. */
  around60?: number;
  /** The highest median of 10 s around a sample after the first minute. */
  peak10s?: number;
  /** The first sample at or after 60 s. */
  at60?: number;
  rawMax?: number;
  rawMin?: number;
}

/** The floors, growth, peaks and extremes of RSS after the first minute. */
export function analyseRss(seconds: readonly Second[]): RssAnalysis {
  const last = seconds[seconds.length - 1];
  const judged = last !== undefined && last.t >= JUDGED_FROM_S;
  const floorEarly = floorIn(seconds, 60, 120);
  const floorLate = last && floorIn(seconds, last.t - 59, last.t + 1);
  const growth =
    judged && floorEarly !== undefined && floorLate !== undefined
      ? floorLate - floorEarly
      : undefined;
  const afterMinute = seconds.filter((s) => s.t >= 60);
  let peak10s: number | undefined;
  for (const s of afterMinute) {
    const m = medianIn(seconds, s.t - 5, s.t + 5);
    if (m !== undefined && (peak10s === undefined || m > peak10s)) peak10s = m;
  }
  const rss = afterMinute.map((s) => s.rss);
  const duckdbEarly = duckdbMedianIn(seconds, 60, 120);
  const duckdbLate = last && duckdbMedianIn(seconds, last.t - 59, last.t + 1);
  const duckdbGrowth =
    duckdbEarly !== undefined && duckdbLate !== undefined ? duckdbLate - duckdbEarly : undefined;
  return {
    last,
    floorEarly,
    floorLate,
    growth,
    duckdbGrowth,
    judgedGrowth: growth === undefined ? undefined : growth - Math.max(0, duckdbGrowth ?? 0),
    afterMinute,
    around60: medianIn(seconds, 55, 65),
    peak10s,
    at60: seconds.find((s) => s.t >= 60)?.rss,
    rawMax: afterMinute.length > 0 ? Math.max(...rss) : undefined,
    rawMin: afterMinute.length > 0 ? Math.min(...rss) : undefined,
  };
}

/** Median of the samples with `from ≤ t < to` (seconds), or undefined. */
function medianIn(seconds: readonly Second[], from: number, to: number): number | undefined {
  const values = seconds.filter((s) => s.t >= from && s.t < to).map((s) => s.rss);
  return values.length === 0 ? undefined : median(values);
}

/** Median of the probe's DuckDB memory over `from ≤ t < to` (seconds), or undefined. */
function duckdbMedianIn(seconds: readonly Second[], from: number, to: number): number | undefined {
  const values = seconds
    .filter((s) => s.t >= from && s.t < to && s.probe?.duckdb !== undefined)
    .map((s) => s.probe?.duckdb ?? 0);
  return values.length === 0 ? undefined : median(values);
}

/** 10th percentile of the samples with `from ≤ t < to` (seconds), or undefined. */
function floorIn(seconds: readonly Second[], from: number, to: number): number | undefined {
  const values = seconds
    .filter((s) => s.t >= from && s.t < to)
    .map((s) => s.rss)
    .sort((a, b) => a - b);
  return values.length === 0 ? undefined : values[Math.floor((values.length - 1) * 0.1)];
}

/** Least-squares slope of RSS over the samples, in MiB per minute. */
export function slopeMiBPerMin(seconds: readonly Second[]): number {
  if (seconds.length < 2) return 0;
  const n = seconds.length;
  const mx = seconds.reduce((a, s) => a + s.t, 0) / n;
  const my = seconds.reduce((a, s) => a + mib(s.rss), 0) / n;
  let num = 0;
  let den = 0;
  for (const s of seconds) {
    num += (s.t - mx) * (mib(s.rss) - my);
    den += (s.t - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}
