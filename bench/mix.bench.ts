import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from './support/benchmark';
import { buildServers } from './http/build';
import { CHAIN_USAGE_TYPE, type Seed, seedDatabase } from './http/dataset';
import { benchEnvironment, startPair } from './http/pair';
import { type ServerProcess, stopAll } from './http/processes';
import { checkSameAnswers, httpRoutes } from './http/routes';
import { runChecker } from './mix/checker';
import { measureMix, type MixMode, mixLoads } from './mix/load';
import { type Half, MIX_LABEL, type MixTarget, printMix, summarizeMix } from './mix/report';
import { CHECKER_PRIORITY, mixSequence } from './mix/sequence';

/**
 * Issue 12 under a mixed load: this service against the hand-written server
 * (`bench/handwritten`), 85% reads and 15% writes, with a read-your-writes check running beside.
 *
 * - Same build, data and equivalence check as `npm run bench -- http` (12 usage types × 10
 *   configs, one file copied to both servers; their read answers must be equal first).
 * - Requests: a fixed shuffled sequence of 1000 (seeded): 85% reads (active model 25, config by
 *   id 25, fallback chain 15 — the app's chain read; it has no `GET …/chain` —, list by usage
 *   type 12, list by provider and enabled 8) and 15% PATCHes of `modelName` or `parameters` of
 *   configs at priorities 1..9 of the 12 usage types. Requests are labelled `read` or `write`
 *   (`HttpRequestSpec.kind`), and `runHttpLoad` counts and times each kind itself (latency from
 *   send to last byte, ms, unrounded).
 * - `--mode=split` (default): two autocannon processes at once, one sending the reads on 85% of
 *   the connections (42 of 50), the other the writes on 15% (8). Every write commits, and
 *   DuckDB syncs its WAL on every commit: on the 2-core VM this was written on, a server commits
 *   only ~80 writes/s whatever the code above it. Split, the reads run at their own speed
 *   beside a steady stream of writes (each invalidating cache entries), which is what tells the
 *   two servers apart; writes are then far fewer than 15% of the requests.
 * - `--mode=sequence`: one autocannon process sends the sequence itself, so writes are exactly
 *   15% of the requests; but in a closed loop reads/s is then held at 85/15 × writes/s, so the
 *   write path (WAL sync, and whatever else a write does) decides both columns.
 * - Order: after `--warmup` s of the mix on each, the servers run in halves of `--duration`/2 s,
 *   service, hand-written, hand-written, service, so a drift of the machine falls on both alike.
 *   Rates are totals ÷ time; percentiles are the means of the two halves'.
 * - Read-your-writes: during every half, one more client (beside the load's connections) PATCHes
 *   the `modelName` of a config at priority 10 (never written by the load), then reads it by id
 *   and in the list filtered by its usage type; a read without that name and version is stale.
 *   This service must show 0.
 */
const benchmark: Benchmark = {
  name: 'mix',
  description: '85% reads / 15% writes: this service against the hand-written server',
  options: [
    '--duration=60      seconds of mixed load per server (in two halves)',
    '--connections=50   autocannon connections (requests in flight)',
    '--warmup=3         seconds of the mix per server before measuring',
    '--mode=split       split: reads and writes from two autocannon processes on 85%/15% of the connections; sequence: one process, 15% of the requests are writes',
  ],
  run: runMixBenchmark,
};
export default benchmark;

interface Settings {
  mode: MixMode;
  durationS: number;
  connections: number;
  warmupS: number;
}

function readSettings(ctx: BenchContext): Settings {
  const mode = ctx.args.string('mode') ?? 'split';
  if (mode !== 'split' && mode !== 'sequence') throw new RangeError('--mode is split or sequence');
  return {
    mode,
    durationS: ctx.args.number('duration', 60),
    connections: Math.round(ctx.args.number('connections', 50)),
    warmupS: ctx.args.number('warmup', 3),
  };
}

async function runMixBenchmark(ctx: BenchContext): Promise<void> {
  const settings = readSettings(ctx);
  const dir = mkdtempSync(join(tmpdir(), 'bench-mix-'));
  const servers: ServerProcess[] = [];
  try {
    ctx.log('Building the app and the hand-written server…');
    const build = buildServers();
    const seed = await seedDatabase(build.app, dir);
    const { service, hand } = await startPair(build, seed, dir, servers);
    const reads = httpRoutes(seed, 1).filter((route) => route.method === 'GET');
    await checkSameAnswers(reads, service, hand);
    ctx.log(`Same JSON from both servers on ${reads.length} read routes.`);
    ctx.log(
      `${settings.mode} mode, ${settings.connections} connections + 1 checker, ` +
        `${settings.durationS} s per server in ` +
        `halves (service, hand-written, hand-written, service); ${os.cpus().length} CPUs, load ` +
        `average ${os.loadavg()[0].toFixed(1)}`,
    );
    const halves = await measureHalves(ctx, { service, hand }, seed, settings);
    const summary = summarizeMix(halves);
    printMix(ctx, summary);
    const file = await ctx.writeResults('mix', {
      benchmark: 'mix',
      date: new Date().toISOString(),
      environment: benchEnvironment(),
      settings,
      targets: MIX_LABEL,
      summary,
      halves,
    });
    ctx.log(`\nResults written to ${file}`);
    if (summary.service.checker.stale > 0) {
      process.exitCode = 1;
      ctx.log('FAILED: this service answered stale reads after its own acknowledged writes.');
    }
  } finally {
    await stopAll(servers);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Warms both servers, then runs the halves in ABBA order, each with the checker beside it. */
async function measureHalves(
  ctx: BenchContext,
  targets: Record<MixTarget, ServerProcess>,
  seed: Seed,
  settings: Settings,
): Promise<Half[]> {
  const mix = mixSequence(seed);
  const checked = seed.configs.filter(
    (c) => c.priority === CHECKER_PRIORITY && c.usageType !== CHAIN_USAGE_TYPE,
  );
  const loads = (server: ServerProcess, durationS: number) =>
    mixLoads(server.origin, mix, settings.mode, settings.connections, durationS);
  for (const server of Object.values(targets)) {
    await measureMix(server, loads(server, settings.warmupS));
  }
  const halves: Half[] = [];
  const order: MixTarget[] = ['service', 'hand', 'hand', 'service'];
  for (const [i, target] of order.entries()) {
    const server = targets[target];
    let done = false;
    const checker = runChecker(server.origin, checked, () => done, `${target}-${i}`);
    const window = await measureMix(server, loads(server, settings.durationS / 2)).finally(
      () => (done = true),
    );
    halves.push({ target, window, checker: await checker });
    const { read, write } = window.byKind;
    ctx.log(
      `  ${MIX_LABEL[target]}: reads ${Math.round(read?.perSecond ?? 0)}/s, writes ` +
        `${Math.round(write?.perSecond ?? 0)}/s, non-2xx ${window.non2xx}`,
    );
  }
  return halves;
}
