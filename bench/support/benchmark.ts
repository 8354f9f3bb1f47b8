/**
 * What every `bench/*.bench.ts` module exports as its default: a named benchmark that
 * `bench/run.ts` can select with `npm run bench -- <name>`.
 *
 * A benchmark measures the library against a ceiling measured in the same run and prints ratios;
 * it never asserts on absolute times and never fails because a target was missed.
 *
 * @example
 * const benchmark: Benchmark = {
 *   name: 'cache',
 *   description: 'cached reads/s against a plain Map',
 *   options: ['--duration=<s>'],
 *   run: async (ctx) => ctx.log('…'),
 * };
 * export default benchmark;
 */
export interface Benchmark {
  /** The name selected on the command line; also the results file name (`results/<name>.json`). */
  readonly name: string;
  /** One line for `npm run bench -- --list`. */
  readonly description: string;
  /** The `--flag=value` options it reads, for `--list`. */
  readonly options?: readonly string[];
  /** Runs the benchmark, printing through `ctx.log`; resolves once its resources are closed. */
  run(ctx: BenchContext): Promise<void>;
}

/** What `run.ts` hands a benchmark. */
export interface BenchContext {
  /** Command-line options (`--key=value`, `--flag`). */
  readonly args: BenchArgs;
  /** Prints one line to stdout. */
  log(line?: string): void;
  /** Writes `bench/results/<name>.json` and returns its path. */
  writeResults(name: string, data: unknown): Promise<string>;
}

/** Parsed `--key=value` options with typed, defaulted accessors. */
export class BenchArgs {
  private readonly values = new Map<string, string>();

  /** Names given without a leading `--` (the benchmarks to run). */
  readonly positionals: string[] = [];

  constructor(argv: readonly string[]) {
    for (const arg of argv) {
      if (!arg.startsWith('--')) {
        this.positionals.push(arg);
        continue;
      }
      const eq = arg.indexOf('=');
      if (eq < 0) this.values.set(arg.slice(2), 'true');
      else this.values.set(arg.slice(2, eq), arg.slice(eq + 1));
    }
  }

  /** True when `--name` was given (without a value, or with anything but `false`). */
  flag(name: string): boolean {
    const value = this.values.get(name);
    return value !== undefined && value !== 'false';
  }

  /** The raw string of `--name=value`, if given. */
  string(name: string): string | undefined {
    return this.values.get(name);
  }

  /** `--name=<number>`, or `fallback`; a value that is not a positive number is refused. */
  number(name: string, fallback: number): number {
    const raw = this.values.get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`--${name} must be a positive number, got "${raw}"`);
    }
    return value;
  }

  /** `--name=1,4,8` as positive integers, or `fallback`. */
  integers(name: string, fallback: readonly number[]): number[] {
    const raw = this.values.get(name);
    if (raw === undefined) return [...fallback];
    const list = raw.split(',').map(Number);
    if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new RangeError(`--${name} must be a comma-separated list of positive integers`);
    }
    return list;
  }
}
