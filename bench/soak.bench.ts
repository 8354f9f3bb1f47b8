import type { Benchmark, BenchContext } from './support/benchmark';
import { Counters } from './soak/counters';
import { printRss, printServerState, printStart, printTotals, readMetrics } from './soak/report';
import { analyseRss } from './soak/rss-stats';
import { runLoad } from './soak/sampler';
import { type SoakServer, startServer, stopServer, waitLive } from './soak/server';
import { parseSettings } from './soak/settings';
import { Traffic } from './soak/traffic';
import type { Settings } from './soak/types';
import { failuresOf, printVerdict, type SoakOutcome, writeSoakResults } from './soak/verdict';
import { verify } from './soak/verify';

/**
 * `npm run bench -- soak`: the real app in a child process (compiled as `npm run build` would,
 * into `bench/results/app-build`, and run with the `node` flags of `npm start`; a fresh DuckDB
 * file in a temporary directory, memory cache, `LOG_LEVEL=warn`) under the mixed traffic of
 * issue 10 for 5 minutes with 50 requests in flight, on loopback, its RSS sampled every second
 * from `/proc/<pid>/status`. It fails (exit code 1) when RSS grows more than 32 MiB after the
 * first minute beyond what DuckDB's buffer manager grew, when any 5xx or transport error occurred, or when the server's final state
 * differs from what the acknowledged writes said.
 *
 * Growth after the first minute = the floor of the last minute minus the floor of 60–120 s, a
 * floor being the 10th percentile of RSS over the minute (each holds at least one full GC): the
 * memory the process keeps. What is judged leaves out the growth of DuckDB's buffer manager
 * (medians of `duckdb_memory()` over the same minutes): the database grows with every write
 * (about 60 MB in 5 minutes here, history and change log included), and DuckDB keeps its blocks
 * in memory up to `DUCKDB_MEMORY_LIMIT`; that is data, not a leak. Peaks are printed but not judged: V8 lets garbage pile up between
 * full GCs, and whether a peak or a trough falls at 60 s swung "max RSS after 60 s − RSS at 60 s"
 * from 0 to 65 MiB for the same code. Runs shorter than 180 s are not judged on growth. The
 * trend is printed too. A probe preloaded into the server reports its V8 heap and DuckDB's
 * buffer manager (`duckdb_memory()`) every second.
 *
 * The mix: 85% reads (active model, fallback chain, filtered and paginated lists, one config by
 * id; 1% of requests go to unknown URLs, which must not grow the metrics' label sets) and 15%
 * writes of every kind (create, PATCH, PUT by slot, DELETE by id or slot, bulk create, chain
 * replacement) over 12 usage types. Each usage type is a lane whose writes are sent one at a
 * time (a worker that wants to write takes a free lane, or reads instead), so the order of the
 * acknowledgements is the order of the commits and the benchmark knows exactly what each slot
 * must hold at the end. The load is generated here (not by autocannon) because every write's
 * response body feeds that model.
 */

const benchmark: Benchmark = {
  name: 'soak',
  description:
    'the real app under 5 minutes of mixed traffic (50 in flight): RSS must stay flat after the first minute, no 5xx, no lost write',
  options: [
    '--duration=<s> (300)',
    '--connections=<n> (50)',
    '--write-share=<0..1> (0.15)',
    '--growth-limit=<MiB> (32)',
    '--max-requests=<n> (20000000)',
    '--env=NAME=value[,NAME=value] (app variables, e.g. DUCKDB_MEMORY_LIMIT=4GB)',
    '--node-options="<flags>" (node flags for the server instead of those of npm start, e.g. --max-old-space-size=256)',
    '--gc (server with --expose-gc; full GC before each printed line)',
    '--probe=false (no V8/DuckDB breakdown)',
    '--ts-node (run main.ts from source instead of a build in bench/results/app-build)',
    '--app-root=<dir> (build another checkout, e.g. an unchanged copy to compare with)',
  ],
  run: runSoak,
};
export default benchmark;

/** The seed of the mix: every run sends the same sequence of choices. */
const SEED = 0x50a4;

async function runSoak(ctx: BenchContext): Promise<void> {
  const settings = parseSettings(ctx);
  const server = await startServer(settings);
  try {
    await waitLive(server);
    await printStart(ctx, server, settings);
    const outcome = await soak(ctx, server, settings);
    const failures = failuresOf(outcome);
    printVerdict(ctx, failures);
    const path = await writeSoakResults(ctx, outcome, failures);
    ctx.log(`results: ${path}`);
  } finally {
    await stopServer(server);
  }
}

/** Loads the live server, checks its final state, and prints what was measured. */
async function soak(
  ctx: BenchContext,
  server: SoakServer,
  settings: Settings,
): Promise<SoakOutcome> {
  const counters = new Counters();
  const traffic = new Traffic(server.client, counters, settings, SEED);
  const { seconds, elapsedS } = await runLoad(ctx, server, traffic, counters, settings);

  ctx.log('');
  ctx.log('verifying every acknowledged write against the server…');
  const verification = await verify(server.client, traffic.state);
  const after = await server.probe.requestDetail();
  const metrics = await readMetrics(server.client);
  const rss = analyseRss(seconds);

  ctx.log('');
  printTotals(ctx, counters, elapsedS, verification);
  printServerState(ctx, metrics, after);
  printRss(ctx, rss, settings);
  const { lost } = verification;
  return { settings, elapsedS, counters, rss, lost, duckdb: after, seconds };
}
