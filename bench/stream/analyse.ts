import type { ClockCheck, PhaseRun } from './measure';

/** A latency distribution in ms (nearest-rank percentiles). */
export interface LatencyStats {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** One phase, verified and summarized. */
export interface PhaseResult {
  mode: 'stream' | 'poll';
  subscribers: number;
  events: number;
  /** Events × subscribers (poll: the versions the poller saw). */
  deliveries: number;
  /** Arrival at each subscriber minus the PATCH's 2xx (read in full). */
  fromResponse: LatencyStats;
  /** Arrival at each subscriber minus the moment the PATCH was sent. */
  fromRequestStart: LatencyStats;
  /** Per event: arrival at the last subscriber minus the 2xx (the fan-out's end). */
  lastFromResponse: LatencyStats;
  /** The PATCH's own round trip. */
  patchRoundTrip: LatencyStats;
  /** Deliveries that arrived before the PATCH's 2xx had been read, in percent. */
  beforeResponsePct: number;
  serverCpuMs: number;
  serverCpuPerEventUs: number;
  serverCpuPerEventPerSubscriberUs: number;
  subscriberProcessCpuMs: number;
  heartbeats: number;
  polls: number;
  elapsedS: number;
  clock: ClockCheck;
}

export function latencyStats(values: readonly number[]): LatencyStats {
  if (values.length === 0) throw new RangeError('no samples');
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    min: sorted[0],
    p50: rank(50),
    p90: rank(90),
    p99: rank(99),
    max: sorted[sorted.length - 1],
  };
}

/**
 * Throws unless every subscriber got every change exactly once, in id order: the PATCHes' events
 * have consecutive ids in the order they were sent, no other event came, each subscriber's list
 * of ids is exactly that list, and the subscriber process reported no failure (a closed stream,
 * an id going backwards, a copy whose data differs). For the poller: it saw each PATCH's
 * version, in order (it is given the time to: the next PATCH waits for it).
 */
export function verify(run: PhaseRun): void {
  const { spec, writes, report } = run;
  const label = spec.mode === 'poll' ? 'poller' : `stream × ${spec.subscribers}`;
  const problems = [...report.failures];
  if (spec.mode === 'poll') {
    const seen = report.seen.map(([key]) => key).join(' ');
    if (seen !== writes.map((write) => write.key).join(' ')) {
      problems.push(`the poller saw ${report.seen.length} versions, not the ${writes.length} sent`);
    }
  } else {
    problems.push(...streamProblems(run));
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).join('\n  ');
    throw new Error(`${label}: ${problems.length} problem(s), e.g.:\n  ${shown}`);
  }
}

/** The event ids of the phase's PATCHes, in order (throws if one has none). */
function expectedIds(run: PhaseRun): number[] {
  const idOf = new Map(run.report.keys.map(([id, key]) => [key, id]));
  return run.writes.map((write, i) => {
    const id = idOf.get(write.key);
    if (id === undefined) throw new Error(`PATCH #${i} (${write.key}) produced no event`);
    return id;
  });
}

function streamProblems(run: PhaseRun): string[] {
  const problems: string[] = [];
  const ids = expectedIds(run);
  if (ids.some((id, i) => id !== ids[0] + i)) problems.push(`event ids not consecutive: ${ids}`);
  if (run.report.keys.length !== ids.length) {
    problems.push(`${run.report.keys.length} events arrived for ${ids.length} PATCHes`);
  }
  if (run.report.subscribers.length !== run.spec.subscribers) {
    problems.push(`${run.report.subscribers.length} subscribers reported`);
  }
  run.report.subscribers.forEach((subscriber, index) => {
    const same =
      subscriber.ids.length === ids.length && subscriber.ids.every((id, i) => id === ids[i]);
    if (!same) {
      const got = subscriber.ids.length > 12 ? `${subscriber.ids.length} ids` : subscriber.ids;
      problems.push(`subscriber ${index} got ${got}, expected ${ids[0]}…${ids[ids.length - 1]}`);
    }
  });
  return problems;
}

/** The latencies and costs of a verified phase. */
export function summarize(run: PhaseRun): PhaseResult {
  const { spec, writes, report } = run;
  const fromResponse: number[] = [];
  const fromRequestStart: number[] = [];
  const arrivals =
    spec.mode === 'poll'
      ? [report.seen.map(([, at]) => at)]
      : report.subscribers.map((subscriber) => subscriber.at);
  for (const at of arrivals) {
    writes.forEach((write, i) => {
      fromResponse.push(at[i] - write.respondedAt);
      fromRequestStart.push(at[i] - write.sentAt);
    });
  }
  const events = writes.length;
  const deliveries = fromResponse.length;
  const serverCpuUs = run.serverCpuUs;
  return {
    mode: spec.mode,
    subscribers: spec.subscribers,
    events,
    deliveries,
    fromResponse: latencyStats(fromResponse),
    fromRequestStart: latencyStats(fromRequestStart),
    lastFromResponse: latencyStats(run.deliveries.map((d, i) => d.lastAt - writes[i].respondedAt)),
    patchRoundTrip: latencyStats(writes.map((write) => write.respondedAt - write.sentAt)),
    beforeResponsePct: (fromResponse.filter((ms) => ms < 0).length / deliveries) * 100,
    serverCpuMs: serverCpuUs / 1000,
    serverCpuPerEventUs: serverCpuUs / events,
    serverCpuPerEventPerSubscriberUs: serverCpuUs / deliveries,
    subscriberProcessCpuMs: run.subscriberCpuUs / 1000,
    heartbeats: report.heartbeats,
    polls: report.polls,
    elapsedS: run.elapsedMs / 1000,
    clock: run.clock,
  };
}
