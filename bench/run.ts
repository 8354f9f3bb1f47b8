// Size libuv's thread pool before anything does threadpool I/O: the DuckDB driver runs every
// statement there. Benchmarks open at most 8 pooled connections (plus as many raw ones, never
// busy at the same time as the pool's).
import { sizeUvThreadPool } from '@lib/duckdb';

sizeUvThreadPool(8);

import type { Benchmark, BenchContext } from './support/benchmark';
import { BenchArgs } from './support/benchmark';
import { writeResultsFile } from './support/report';

/**
 * Every benchmark, by the name given on the command line. Add a `bench/<name>.bench.ts` whose
 * default export is a {@link Benchmark} and register it here; modules load only when selected.
 */
const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  pool: async () => (await import('./pool.bench')).default,
  resilience: async () => (await import('./resilience.bench')).default,
  transactions: async () => (await import('./transactions.bench')).default,
  cache: async () => (await import('./cache.bench')).default,
  soak: async () => (await import('./soak.bench')).default,
  http: async () => (await import('./http.bench')).default,
  mix: async () => (await import('./mix.bench')).default,
  stream: async () => (await import('./stream.bench')).default,
};

/**
 * `npm run bench` runs every benchmark; `npm run bench -- pool` one (several names allowed);
 * `npm run bench -- --list` lists them with their options. Options are `--key=value`.
 * Exits non-zero on a usage error or a crash, and when `soak` fails its own check (memory growth,
 * a 5xx, a lost write), `http` meets a non-2xx answer, or `mix` sees this service answer a stale
 * read after its own write; never because a speed target was missed.
 */
async function main(): Promise<void> {
  const args = new BenchArgs(process.argv.slice(2));
  if (args.flag('list') || args.flag('help')) {
    for (const [name, load] of Object.entries(BENCHMARKS)) {
      const benchmark = await load();
      console.log(`${name}: ${benchmark.description}`);
      for (const option of benchmark.options ?? []) console.log(`    ${option}`);
    }
    return;
  }
  const names = args.positionals.length > 0 ? args.positionals : Object.keys(BENCHMARKS);
  const unknown = names.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) {
    console.error(
      `Unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`,
    );
    process.exitCode = 2;
    return;
  }
  const ctx: BenchContext = {
    args,
    log: (line = '') => console.log(line),
    writeResults: writeResultsFile,
  };
  for (const name of names) {
    const started = performance.now();
    const benchmark = await BENCHMARKS[name]();
    console.log(`\n## ${benchmark.name}: ${benchmark.description}\n`);
    await benchmark.run(ctx);
    console.log(
      `\n(${benchmark.name} took ${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
