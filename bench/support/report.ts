import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Where benchmarks write their JSON results (git-ignored). */
export const RESULTS_DIR = join(__dirname, '..', 'results');

/** The median of a non-empty list (the mean of the middle two for an even length). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** (max − min) / median of the samples, in percent: how far one side's rounds disagreed. */
export function spreadPct(values: readonly number[]): number {
  const m = median(values);
  return m === 0 ? 0 : ((Math.max(...values) - Math.min(...values)) / m) * 100;
}

/** Rounds to `digits` decimals (for JSON and tables). */
export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/**
 * A GitHub-flavoured markdown table; columns after the first are right-aligned.
 *
 * @example
 * markdownTable(['n', 'reads/s'], [['1', '1,100']]);
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`;
  const rule = `| ${widths.map((w, c) => (c === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Formats an integer with thousands separators. */
export function formatInt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Writes `bench/results/<name>.json` (creating the folder) and returns its path. */
export async function writeResultsFile(name: string, data: unknown): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  await writeFile(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}
