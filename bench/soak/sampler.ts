import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext } from '../support/benchmark';
import { readRss } from '../support/server-process';
import type { Counters } from './counters';
import { formatSecondLine, type LineWindow } from './report';
import type { SoakServer } from './server';
import type { Traffic } from './traffic';
import type { Second, Settings } from './types';

/** The RSS samples of a load, and how long it ran. */
export interface LoadResult {
  seconds: Second[];
  elapsedS: number;
}

/**
 * Runs the mix with `connections` requests in flight until `durationS` or `maxRequests`, samples
 * the server's RSS (and the probe's latest figures) every second and prints a table line every
 * 10 s; throws if the server exits under load.
 */
export async function runLoad(
  ctx: BenchContext,
  server: SoakServer,
  traffic: Traffic,
  counters: Counters,
  settings: Settings,
): Promise<LoadResult> {
  const started = Date.now();
  const endAt = started + settings.durationS * 1000;
  const running = () => Date.now() < endAt && counters.requests < settings.maxRequests;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped && running()) await traffic.next();
  };
  const workers = Array.from({ length: settings.connections }, worker);
  const seconds = await sampleSeconds(ctx, server, counters, settings, { started, running });
  stopped = true;
  await Promise.all(workers);
  return { seconds, elapsedS: (Date.now() - started) / 1000 };
}

/** When the load started, and whether it is to go on. */
interface Clock {
  started: number;
  running: () => boolean;
}

/** Samples RSS once a second while the load runs (a forced GC first every 10 s with `--gc`). */
async function sampleSeconds(
  ctx: BenchContext,
  server: SoakServer,
  counters: Counters,
  settings: Settings,
  clock: Clock,
): Promise<Second[]> {
  const { app, probe } = server;
  const seconds: Second[] = [];
  let lastLine: LineWindow = { t: 0, requests: 0, writes: 0 };
  let nextSecond = 1;
  while (clock.running()) {
    const wait = clock.started + nextSecond * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    if (app.exitCode() !== undefined) throw new Error(`The app exited under load\n${app.output()}`);
    const t = nextSecond;
    nextSecond++;
    if (settings.gc && t % 10 === 0 && app.child.connected) {
      app.child.send({ type: 'gc' });
      await sleep(300);
    }
    const rss = readRss(app.pid);
    if (rss === undefined) continue;
    seconds.push({ t, rss, probe: probe.latest });
    if (t % 10 === 0) {
      ctx.log(formatSecondLine(t, rss, probe.latest, counters, lastLine));
      lastLine = { t, requests: counters.requests, writes: counters.writes };
    }
  }
  return seconds;
}
