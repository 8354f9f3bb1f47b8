import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { processCpuUs } from '../http/processes';
import type {
  ChildMessage,
  DeliveredMessage,
  PongMessage,
  ReportMessage,
  StartMessage,
} from './protocol';

/** The sources of the subscriber process, compiled with the app (`buildStreamApp`). */
export const SUBSCRIBER_SOURCES = [
  'subscribers.ts',
  'sse-fleet.ts',
  'poller.ts',
  'protocol.ts',
].map((name) => join(__dirname, name));
export const SUBSCRIBER_ENTRY = SUBSCRIBER_SOURCES[0];

/** How long opening 1,000 streams, or a report of 200,000 timestamps, may take. */
const OPEN_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

interface Waiter {
  check(): boolean;
  reject(error: Error): void;
}

/**
 * The forked subscriber process (`subscribers.ts`, as compiled JavaScript): starts it with a job,
 * waits for its messages, and turns a failure it reports, or its exit, into a rejection of
 * whatever is being waited for.
 */
export class SubscriberProcess {
  private readonly delivered = new Map<string, DeliveredMessage>();
  private readonly waiters = new Set<Waiter>();
  private last: ChildMessage | undefined;
  private failure: Error | undefined;
  private output = '';
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.keep(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.keep(chunk));
    child.on('message', (message: ChildMessage) => this.receive(message));
    child.once('exit', (code) => {
      this.exited = true;
      this.fail(new Error(`the subscriber process exited (${code})\n${this.output}`));
    });
  }

  /** Forks `script` (JavaScript), gives it its job and resolves once every subscriber is live. */
  static async start(script: string, job: StartMessage): Promise<SubscriberProcess> {
    const child = fork(script, [], { execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const subscribers = new SubscriberProcess(child);
    try {
      child.send(job);
      await subscribers.next('ready', OPEN_TIMEOUT_MS, `${job.subscribers} subscribers to open`);
      return subscribers;
    } catch (error) {
      await subscribers.stop();
      throw error;
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** CPU time the process has used, in µs. */
  cpuUs(): number {
    return processCpuUs(this.pid);
  }

  /** Resolves when the change `key` has reached every subscriber (maybe already). */
  async delivery(key: string, timeoutMs: number): Promise<DeliveredMessage> {
    await this.until(() => this.delivered.has(key), timeoutMs, `change ${key} to reach everyone`);
    return this.delivered.get(key) as DeliveredMessage;
  }

  /** Its clocks, read between two of ours. */
  async ping(): Promise<PongMessage> {
    this.child.send({ type: 'ping' });
    return (await this.next('pong', STOP_TIMEOUT_MS, 'a pong')) as PongMessage;
  }

  /** Everything it received (throws if it reported a failure). */
  async report(): Promise<ReportMessage> {
    this.child.send({ type: 'report' });
    return (await this.next('report', OPEN_TIMEOUT_MS, 'the report')) as ReportMessage;
  }

  /** Disconnects it (it closes its sockets and exits); SIGKILL if it has not exited in time. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.disconnect();
    else this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(timer);
  }

  private next(type: ChildMessage['type'], timeoutMs: number, what: string) {
    this.last = undefined;
    return this.until(() => this.last?.type === type, timeoutMs, what).then(() => {
      return this.last as ChildMessage;
    });
  }

  private until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter: Waiter = {
        check: () => {
          if (!condition()) return false;
          clearTimeout(timer);
          resolve();
          return true;
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }

  private receive(message: ChildMessage): void {
    if (message.type === 'failure') return this.fail(new Error(message.message));
    if (message.type === 'delivered') this.delivered.set(message.key, message);
    else this.last = message;
    for (const waiter of this.waiters) if (waiter.check()) this.waiters.delete(waiter);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters) waiter.reject(this.failure);
    this.waiters.clear();
  }

  private keep(chunk: string): void {
    this.output = (this.output + chunk).slice(-16_384);
  }
}
