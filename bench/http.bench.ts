import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './support/benchmark';
import { BARE_NEST_ENTRY, buildServers, RAW_FASTIFY_ENTRY } from './http/build';
import { seedDatabase } from './http/dataset';
import { measureRoutes, type WindowSettings } from './http/measure';
import { benchEnvironment, startPair } from './http/pair';
import { type ServerProcess, startEntryServer, stopAll } from './http/processes';
import { printSummary, summarize, type Target, TARGET_LABEL } from './http/report';
import { checkSameAnswers, httpRoutes, writeBodies } from './http/routes';

/**
 * Issue 12, "beat a hand-written Fastify + DuckDB server": the service's hot routes over HTTP
 * against the server a competent engineer would write in a day (`bench/handwritten`), with two
 * ceilings measured in the same run.
 *
 * - Targets, each a child process started from plain JavaScript (the app compiled as `npm run
 *   build` does; the others transpiled next to it) with the `node` flags of `npm start`: raw
 *   Fastify answering each request with its fixed body rendered once; a bare Nest route per
 *   route returning that body as an object (Nest on the app's Fastify adapter options, as the
 *   cache benchmark's `startBareApp`); the hand-written server; this service (memory cache,
 *   `LOG_LEVEL=silent`, no rate limit, every other setting at its default).
 * - Data: 12 usage types × 10 configs (priorities 4 and 8 disabled, 4 providers)
 *   plus a 100-config chain (`zz_chain`, sorted last), inserted by the app itself into one file
 *   that every DuckDB-backed server gets a copy of.
 * - Before measuring, each route is sent once to the service and the hand-written server; their
 *   parsed bodies must be equal (key order aside; for the chain replace, new ids and timestamps
 *   aside) or the benchmark fails.
 * - Routes: active model, config by id, the unfiltered list (100 items), two filtered lists,
 *   grouped, `GET /health/live` (served by Nest, uncached, touching nothing: what the framework
 *   path itself costs), and the replacement of a 100-item chain (`--chain-connections`,
 *   default 1: one PUT at a time, as concurrent replacements of one chain only conflict).
 * - autocannon in a child process (`runHttpLoad`), `--connections` keep-alive connections;
 *   each target warmed on each route for `--warmup` s; then `--rounds` rounds of one
 *   `--duration` window per route and target, the order of targets rotating. Figures are medians
 *   over rounds; ratios are medians of per-round ratios (`cycleRatios`). The server's CPU per
 *   response comes from /proc (every thread of its process, DuckDB's included; 10 ms ticks).
 *   p99 is autocannon's, in whole milliseconds. On a shared 2-core machine req/s swings with
 *   the neighbours; CPU µs per response is the steadier figure.
 * - Any non-2xx answer or transport error while measuring is printed and makes the run exit
 *   non-zero (a correctness failure, not a missed speed target).
 */
const benchmark: Benchmark = {
  name: 'http',
  description: 'hot routes: this service against a hand-written Fastify + DuckDB server',
  options: [
    '--rounds=2              windows per route and target',
    '--connections=50        autocannon connections (read routes)',
    '--duration=8            seconds per window',
    '--warmup=1              seconds of load per route and target before the first round',
    '--chain-connections=1   connections of the chain replace',
    '--routes=active,chain   only the routes whose names contain one of these (default: all)',
  ],
  run: runHttpBenchmark,
};
export default benchmark;

interface Settings extends WindowSettings {
  chainConnections: number;
  /** Name fragments (lower case) of the routes to measure; empty: every route. */
  routes: string[];
}

function readSettings(ctx: BenchContext): Settings {
  return {
    rounds: Math.round(ctx.args.number('rounds', 2)),
    connections: Math.round(ctx.args.number('connections', 50)),
    durationS: ctx.args.number('duration', 8),
    warmupS: ctx.args.number('warmup', 1),
    chainConnections: Math.round(ctx.args.number('chain-connections', 1)),
    routes: (ctx.args.string('routes') ?? '')
      .split(',')
      .map((part) => part.trim().toLowerCase())
      .filter(Boolean),
  };
}

async function runHttpBenchmark(ctx: BenchContext): Promise<void> {
  const settings = readSettings(ctx);
  const dir = mkdtempSync(join(tmpdir(), 'bench-http-'));
  const servers: ServerProcess[] = [];
  try {
    ctx.log('Building the app and the benchmark servers…');
    const build = buildServers([RAW_FASTIFY_ENTRY, BARE_NEST_ENTRY]);
    const seed = await seedDatabase(build.app, dir);
    const compiled = (source: string) => build.entries.get(source) as string;
    const { service, hand } = await startPair(build, seed, dir, servers);
    const routes = httpRoutes(seed, settings.chainConnections).filter(
      (route) =>
        settings.routes.length === 0 ||
        settings.routes.some((part) => route.name.toLowerCase().includes(part)),
    );
    if (routes.length === 0) throw new Error(`No route matches --routes=${settings.routes}`);
    const bodies = await checkSameAnswers(routes, service, hand);
    ctx.log(`Same JSON from both servers on all ${routes.length} routes.`);
    const env = { BODIES_FILE: writeBodies(join(dir, 'bodies.json'), bodies) };
    const raw = await startEntryServer('raw', compiled(RAW_FASTIFY_ENTRY), env);
    servers.push(raw);
    const nest = await startEntryServer('nest', compiled(BARE_NEST_ENTRY), env, build.app.tsconfig);
    servers.push(nest);
    ctx.log(
      `${settings.rounds} rounds × ${routes.length} routes × 4 targets, ${settings.durationS} s ` +
        `windows, ${settings.connections} connections (chain: ${settings.chainConnections}); ` +
        `${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}`,
    );
    const targets: Record<Target, ServerProcess> = { raw, nest, hand, service };
    const windows = await measureRoutes(targets, routes, settings, ctx.log);
    const summaries = summarize(windows);
    printSummary(ctx, summaries);
    reportFailures(ctx, summaries);
    const file = await ctx.writeResults('http', {
      benchmark: 'http',
      date: new Date().toISOString(),
      environment: benchEnvironment(),
      settings,
      targets: TARGET_LABEL,
      routes: routes.map(({ name, method, path, connections }) => ({
        name,
        method,
        path,
        connections,
      })),
      summaries,
      windows,
    });
    ctx.log(`\nResults written to ${file}`);
  } finally {
    await stopAll(servers);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints every target and route that answered non-2xx or failed, and sets a failing exit code. */
function reportFailures(ctx: BenchContext, summaries: ReturnType<typeof summarize>): void {
  for (const [route, summary] of Object.entries(summaries)) {
    for (const [target, s] of Object.entries(summary)) {
      if (s.non2xx + s.errors === 0) continue;
      process.exitCode = 1;
      ctx.log(`FAILED: ${target} on ${route}: ${s.non2xx} non-2xx answers, ${s.errors} errors`);
    }
  }
}
