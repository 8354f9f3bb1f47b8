/**
 * The subscriber process of the stream benchmark, forked by `bench/stream/subscriber-process.ts`
 * (compiled to JavaScript first, so that no compiler sits in it): opens the N streams (or the
 * poller) its `start` message asks for, tells the benchmark as soon as each change has reached
 * every subscriber, and sends everything it received when asked. Running them here keeps 1,000
 * sockets and their parsing out of the process that sends the writes and reads the clock.
 */
import type { ChildMessage, ParentMessage, ReportMessage, StartMessage } from './protocol';
import { nowMs } from './protocol';
import { Poller } from './poller';
import { SseFleet } from './sse-fleet';

interface Job {
  open(): Promise<void>;
  report(): ReportMessage;
  close(): void;
}

let job: Job | undefined;

function send(message: ChildMessage): void {
  if (process.connected) process.send?.(message);
}

function start(message: StartMessage): void {
  const current: Job =
    message.mode === 'stream'
      ? new SseFleet(message.baseUrl, message.subscribers, send)
      : new Poller(message.baseUrl, message.usageType, message.pollMs, send);
  job = current;
  current.open().then(
    () => send({ type: 'ready', opened: message.mode === 'stream' ? message.subscribers : 1 }),
    (error: unknown) => send({ type: 'failure', message: `opening: ${String(error)}` }),
  );
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'start') start(message);
  else if (message.type === 'ping') {
    send({ type: 'pong', at: nowMs(), wallAt: performance.timeOrigin + performance.now() });
  } else if (message.type === 'report' && job) send(job.report());
});

process.on('disconnect', () => {
  job?.close();
  process.exit(0);
});
