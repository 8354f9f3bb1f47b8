import type { Benchmark, BenchContext } from './support/benchmark';
import { mulberry32 } from './support/model-configs-db';
import { type PhaseResult, summarize, verify } from './stream/analyse';
import { buildStreamApp } from './stream/build';
import { type PhaseSpec, runPhase, type StreamSettings } from './stream/measure';
import { printDetailTable, printLatencyTable, writeStreamResults } from './stream/report';
import {
  activeConfig,
  startStreamServer,
  stopStreamServer,
  type StreamServer,
  Writer,
} from './stream/server';
import { SUBSCRIBER_ENTRY, SUBSCRIBER_SOURCES } from './stream/subscriber-process';

/**
 * `npm run bench -- stream`: how long a committed change takes to reach the clients of the change
 * stream (`GET /api/v1/events`), with 1, 100 and 1,000 of them, and what it costs the server.
 *
 * The real app runs in a child process, compiled as `npm run build` would (into
 * `bench/results/stream-build`, not the shared `app-build`: see `stream/build.ts`), on a fresh
 * DuckDB file, with the memory cache, `LOG_LEVEL=silent`, `API_KEY` set and `EVENTS_MAX_CLIENTS`
 * above the largest N. The subscribers live in a second child process
 * (`bench/stream/subscribers.ts`, compiled too), which opens the N streams with `node:http`,
 * stamps each chunk as it arrives and parses the frames; this process sends the PATCHes and reads
 * the clocks. The clock is `process.hrtime` (`CLOCK_MONOTONIC`) in both: the
 * same clock for every process of the machine, checked with a ping in each phase.
 *
 * PATCHes go to the active config of one usage type, one at a time; each waits for its 2xx, then
 * for its event to reach every subscriber, then for a random pause in [0, gap), so each change is
 * measured on its own. Latency is reported from the PATCH's 2xx (read in full) and from the
 * moment it was sent; the event is published after the commit, concurrently with the answer, so
 * it may arrive before the 2xx (a negative latency). Server CPU: utime + stime of
 * `/proc/<pid>/stat` (every thread, DuckDB's included; 10 ms ticks), before the first PATCH and
 * after the last delivery, per event and per event and subscriber; it includes the PATCH itself.
 * The run fails unless every subscriber received every event exactly once, in id order.
 *
 * The yardstick, in the same run on the same server: one client polling
 * `GET /api/v1/usage-types/<t>/active` every 100 ms instead: its staleness is the time from the
 * 2xx until a poll answers with the new version (on average half the interval plus a read).
 */
const benchmark: Benchmark = {
  name: 'stream',
  description:
    'change-to-client latency of the change stream (p50/p99) for 1, 100 and 1,000 subscribers, server CPU per event, and a 100 ms poller as the yardstick',
  options: [
    '--subscribers=<n,n,…> (1,100,1000)',
    '--events=<n> (200 PATCHes per phase)',
    '--poll-ms=<ms> (100)',
    '--gap-ms=<ms> (100: random pause in [0, gap) after each delivered change; the poller: [0, poll-ms))',
    '--timeout-ms=<ms> (10000: a change not delivered to everyone by then fails the run)',
    '--usage-type=<t> (chat_deep)',
    '--poll=false (no polling yardstick)',
  ],
  run: runStream,
};
export default benchmark;

/** Streams at most, per phase (sockets of one process). */
const MAX_SUBSCRIBERS = 10_000;
/** The seed of the pauses between changes. */
const SEED = 0x5e7;

function parseSettings(ctx: BenchContext): StreamSettings {
  const subscribers = ctx.args.integers('subscribers', [1, 100, 1000]);
  if (subscribers.some((n) => n > MAX_SUBSCRIBERS)) {
    throw new RangeError(`--subscribers takes at most ${MAX_SUBSCRIBERS} per phase`);
  }
  return {
    subscribers,
    events: Math.round(ctx.args.number('events', 200)),
    pollMs: ctx.args.number('poll-ms', 100),
    gapMs: ctx.args.number('gap-ms', 100),
    timeoutMs: ctx.args.number('timeout-ms', 10_000),
    usageType: ctx.args.string('usage-type') ?? 'chat_deep',
    poll: ctx.args.string('poll') !== 'false',
  };
}

async function runStream(ctx: BenchContext): Promise<void> {
  const settings = parseSettings(ctx);
  ctx.log('building the app and the subscriber process (bench/results/stream-build)…');
  const build = buildStreamApp(SUBSCRIBER_SOURCES);
  const script = build.preload.get(SUBSCRIBER_ENTRY);
  if (!script) throw new Error('The subscriber process was not compiled');
  const maxClients = Math.max(1000, ...settings.subscribers) + 10;
  const server = await startStreamServer(build, maxClients);
  try {
    const phases = await runPhases(ctx, server, script, settings);
    ctx.log('');
    printLatencyTable(ctx, phases, settings);
    ctx.log('');
    printDetailTable(ctx, phases, settings);
    printNotes(ctx, phases);
    ctx.log(`results: ${await writeStreamResults(ctx, settings, phases)}`);
  } finally {
    await stopStreamServer(server);
  }
}

async function runPhases(
  ctx: BenchContext,
  server: StreamServer,
  script: string,
  settings: StreamSettings,
): Promise<PhaseResult[]> {
  const active = await activeConfig(server, settings.usageType);
  const writer = new Writer(server, active.id, active.version);
  const specs: PhaseSpec[] = settings.subscribers.map((n) => ({ mode: 'stream', subscribers: n }));
  if (settings.poll) specs.push({ mode: 'poll', subscribers: 1 });
  const context = { server, script, writer, settings, random: mulberry32(SEED) };
  const results: PhaseResult[] = [];
  try {
    for (const spec of specs) {
      const n = spec.subscribers;
      const what =
        spec.mode === 'poll'
          ? `1 poller every ${settings.pollMs} ms`
          : `${n} subscriber${n === 1 ? '' : 's'}`;
      ctx.log(`${what}, ${settings.events} PATCHes…`);
      const run = await runPhase(context, spec);
      verify(run);
      const result = summarize(run);
      ctx.log(
        `  ok: ${result.deliveries} deliveries, each once and in order (${result.elapsedS.toFixed(1)} s; clocks: ping ${result.clock.rttMs.toFixed(2)} ms, offset ${result.clock.monotonicOffsetMs.toFixed(3)} ms)`,
      );
      results.push(result);
    }
  } finally {
    writer.close();
  }
  return results;
}

function printNotes(ctx: BenchContext, phases: readonly PhaseResult[]): void {
  const poll = phases.find((phase) => phase.mode === 'poll');
  ctx.log('');
  if (poll) {
    ctx.log(
      `polling: mean staleness ${poll.fromResponse.mean.toFixed(1)} ms after the 2xx ` +
        `(${poll.fromRequestStart.mean.toFixed(1)} ms after the PATCH was sent), ${poll.polls} polls`,
    );
  }
  const walls = phases.map((phase) => Math.abs(phase.clock.wallOffsetMs));
  ctx.log(
    `clocks: performance.timeOrigin + now() disagreed by up to ${Math.max(...walls).toFixed(3)} ms between the two processes; hrtime (CLOCK_MONOTONIC, shared) was used`,
  );
  ctx.log(
    '"before 2xx": deliveries that arrived before the PATCH answer had been read (the event is published after commit, concurrently with the answer)',
  );
}
