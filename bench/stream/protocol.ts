/**
 * The messages between the stream benchmark (`bench/stream.bench.ts`) and its subscriber process
 * (`bench/stream/subscribers.ts`), over the `fork` IPC channel, and the clock both use.
 */

/**
 * Milliseconds on `CLOCK_MONOTONIC` (`process.hrtime`): one clock for every process of the
 * machine, with no per-process origin to align (`performance.timeOrigin` is a wall-clock reading
 * taken when each process starts), and never stepped by NTP.
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** What identifies a change on both sides: the config's id and its version after the PATCH. */
export function changeKey(configId: string, version: number): string {
  return `${configId}@${version}`;
}

/** The subscriber process's job (its first message). */
export interface StartMessage {
  type: 'start';
  /** `stream`: `subscribers` streams of `GET /api/v1/events`; `poll`: one poller. */
  mode: 'stream' | 'poll';
  baseUrl: string;
  subscribers: number;
  /** Poll mode: `GET /api/v1/usage-types/<usageType>/active` every `pollMs`. */
  usageType: string;
  pollMs: number;
}

export type ParentMessage = StartMessage | { type: 'ping' } | { type: 'report' };

/** Every subscriber is live (stream: got `event: ready`; poll: the first answer came). */
export interface ReadyMessage {
  type: 'ready';
  opened: number;
}

/** A change reached every subscriber (poll: the poller saw its version). */
export interface DeliveredMessage {
  type: 'delivered';
  key: string;
  /** The event id (poll: the config's version). */
  id: number;
  /** When the last subscriber got it. */
  lastAt: number;
}

/** The subscriber process's clocks at a ping: monotonic and `timeOrigin + now()`. */
export interface PongMessage {
  type: 'pong';
  at: number;
  wallAt: number;
}

/** Something went wrong (a stream closed, a bad frame): the run must fail. */
export interface FailureMessage {
  type: 'failure';
  message: string;
}

/** What one subscriber received, in arrival order. */
export interface SubscriberRecord {
  ids: number[];
  at: number[];
}

/** Everything the subscriber process saw, sent when asked at the end of a phase. */
export interface ReportMessage {
  type: 'report';
  subscribers: SubscriberRecord[];
  /** Event id → key of its first change, as `[id, key]`. */
  keys: [number, string][];
  /** Poll mode: each new version seen, as `[key, at]`. */
  seen: [string, number][];
  heartbeats: number;
  polls: number;
  failures: string[];
}

export type ChildMessage =
  ReadyMessage | DeliveredMessage | PongMessage | FailureMessage | ReportMessage;
