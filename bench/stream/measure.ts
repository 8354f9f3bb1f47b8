import { setTimeout as sleep } from 'node:timers/promises';
import { processCpuUs } from '../http/processes';
import { type DeliveredMessage, nowMs, type ReportMessage } from './protocol';
import { awaitOpenStreams, type StreamServer, type Write, type Writer } from './server';
import { SubscriberProcess } from './subscriber-process';

/** The options of one run (`--subscribers`, `--events`, …). */
export interface StreamSettings {
  subscribers: number[];
  events: number;
  pollMs: number;
  /** After each change has reached everyone: a random pause in [0, gapMs). */
  gapMs: number;
  /** A change not delivered to every subscriber by then fails the run. */
  timeoutMs: number;
  usageType: string;
  poll: boolean;
}

/** One phase: N streams, or the poller. */
export interface PhaseSpec {
  mode: 'stream' | 'poll';
  subscribers: number;
}

/** Both processes' clocks compared around one ping. */
export interface ClockCheck {
  /** Round trip of the ping over IPC. */
  rttMs: number;
  /** Its monotonic reading minus the midpoint of ours (within ±rtt/2 when the clocks agree). */
  monotonicOffsetMs: number;
  /**
   * How far `performance.timeOrigin + performance.now()` (the clock not used) disagrees between
   * the two processes: its offset at the ping minus the monotonic clock's.
   */
  wallOffsetMs: number;
}

/** What one phase produced, before verification. */
export interface PhaseRun {
  spec: PhaseSpec;
  writes: Write[];
  deliveries: DeliveredMessage[];
  report: ReportMessage;
  serverCpuUs: number;
  subscriberCpuUs: number;
  elapsedMs: number;
  clock: ClockCheck;
}

/** What every phase shares. */
export interface PhaseContext {
  server: StreamServer;
  /** The compiled `subscribers.ts`. */
  script: string;
  writer: Writer;
  settings: StreamSettings;
  random: () => number;
}

/** Lets the server finish with the streams' setup before its CPU time is read. */
const SETTLE_MS = 500;

/**
 * Opens the phase's subscribers in their own process, then sends `events` PATCHes, one at a
 * time: each waits for its 2xx, then for its change to reach every subscriber, then for a random
 * pause, so that every change is measured on its own rather than queued behind the previous one,
 * and the poller's phase relative to a change is uniform. Reads the server's CPU time (every
 * thread: `/proc/<pid>/stat`) before the first PATCH and after the last delivery.
 */
export async function runPhase(context: PhaseContext, spec: PhaseSpec): Promise<PhaseRun> {
  const { server, settings } = context;
  // The poller's phase relative to a change must be uniform: a pause in [0, poll interval).
  const gapMs = spec.mode === 'poll' ? settings.pollMs : settings.gapMs;
  await awaitOpenStreams(server, 0);
  const subscribers = await SubscriberProcess.start(context.script, {
    type: 'start',
    mode: spec.mode,
    baseUrl: server.process.origin,
    subscribers: spec.subscribers,
    usageType: settings.usageType,
    pollMs: settings.pollMs,
  });
  try {
    if (spec.mode === 'stream') await awaitOpenStreams(server, spec.subscribers);
    const clock = await checkClock(subscribers);
    await sleep(SETTLE_MS);
    const cpuBefore = processCpuUs(server.process.pid);
    const subscriberCpuBefore = subscribers.cpuUs();
    const started = nowMs();
    const writes: Write[] = [];
    const deliveries: DeliveredMessage[] = [];
    for (let i = 0; i < settings.events; i++) {
      const write = await context.writer.patch();
      writes.push(write);
      deliveries.push(await subscribers.delivery(write.key, settings.timeoutMs));
      await sleep(context.random() * gapMs);
    }
    const elapsedMs = nowMs() - started;
    const serverCpuUs = processCpuUs(server.process.pid) - cpuBefore;
    const subscriberCpuUs = subscribers.cpuUs() - subscriberCpuBefore;
    const report = await subscribers.report();
    return { spec, writes, deliveries, report, serverCpuUs, subscriberCpuUs, elapsedMs, clock };
  } finally {
    await subscribers.stop();
  }
}

/**
 * Reads the subscriber process's clocks between two readings of ours; throws if its monotonic
 * reading falls outside them (the clocks would not be shared).
 */
async function checkClock(subscribers: SubscriberProcess): Promise<ClockCheck> {
  const wall = () => performance.timeOrigin + performance.now();
  const before = nowMs();
  const wallBefore = wall();
  const pong = await subscribers.ping();
  const after = nowMs();
  const wallAfter = wall();
  if (pong.at < before || pong.at > after) {
    throw new Error(`The subscriber process's clock (${pong.at}) is not ours (${before}–${after})`);
  }
  const monotonicOffsetMs = pong.at - (before + after) / 2;
  return {
    rttMs: after - before,
    monotonicOffsetMs,
    wallOffsetMs: pong.wallAt - (wallBefore + wallAfter) / 2 - monotonicOffsetMs,
  };
}
