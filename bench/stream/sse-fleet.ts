import { type ClientRequest, request } from 'node:http';
import { type ChildMessage, changeKey, nowMs, type ReportMessage } from './protocol';

/** Streams being opened at the same time (more would overflow the server's accept backlog). */
const OPEN_CONCURRENCY = 50;

/** One open stream: the text not yet parsed, and what it received. */
class Subscriber {
  readonly ids: number[] = [];
  readonly at: number[] = [];
  buffer = '';
  lastId = 0;
  ready = false;
  onReady: (() => void) | undefined;
  request: ClientRequest | undefined;

  constructor(readonly index: number) {}
}

/** A chunk as it arrived, stamped before anything else is done with it. */
interface Arrival {
  subscriber: Subscriber;
  chunk: string;
  at: number;
}

/**
 * N Server-Sent-Event streams of `GET /api/v1/events` over `node:http`, one socket each. A chunk
 * is stamped with the clock the moment its `data` callback runs; parsing waits for `setImmediate`,
 * after every socket readable in the same turn of the event loop was stamped, so that one
 * stream's parsing does not delay the next one's timestamp. Frames are parsed as this server
 * writes them (`\n` line ends). Only the first copy of each event's `data` is parsed as JSON; the
 * others must be the same string.
 */
export class SseFleet {
  private readonly subscribers: Subscriber[] = [];
  private readonly counts = new Map<number, number>();
  private readonly keys = new Map<number, string>();
  private readonly payloads = new Map<number, string>();
  private readonly failures: string[] = [];
  private arrivals: Arrival[] = [];
  private heartbeats = 0;
  private closing = false;

  constructor(
    private readonly baseUrl: string,
    private readonly size: number,
    private readonly send: (message: ChildMessage) => void,
  ) {}

  /** Opens every stream, {@link OPEN_CONCURRENCY} at a time; resolves once all are ready. */
  async open(): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < this.size) await this.openOne(next++);
    };
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, this.size) }, worker));
  }

  /** Everything received so far. */
  report(): ReportMessage {
    return {
      type: 'report',
      subscribers: this.subscribers.map(({ ids, at }) => ({ ids, at })),
      keys: [...this.keys],
      seen: [],
      heartbeats: this.heartbeats,
      polls: 0,
      failures: this.failures,
    };
  }

  close(): void {
    this.closing = true;
    for (const subscriber of this.subscribers) subscriber.request?.destroy();
  }

  private openOne(index: number): Promise<void> {
    const subscriber = new Subscriber(index);
    this.subscribers[index] = subscriber;
    return new Promise((resolve, reject) => {
      const url = `${this.baseUrl}/api/v1/events`;
      const req = request(
        url,
        { agent: false, headers: { accept: 'text/event-stream' } },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`subscriber ${index}: HTTP ${res.statusCode}`));
            return;
          }
          res.setEncoding('utf8');
          subscriber.onReady = resolve;
          res.on('data', (chunk: string) => this.receive(subscriber, chunk));
          res.on('close', () => this.lost(subscriber, 'its stream closed'));
        },
      );
      req.on('error', (error) => {
        if (subscriber.ready) this.lost(subscriber, error.message);
        else reject(new Error(`subscriber ${index}: ${error.message}`));
      });
      subscriber.request = req;
      req.end();
    });
  }

  private receive(subscriber: Subscriber, chunk: string): void {
    const at = nowMs();
    if (this.arrivals.push({ subscriber, chunk, at }) === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const arrivals = this.arrivals;
    this.arrivals = [];
    for (const { subscriber, chunk, at } of arrivals) {
      subscriber.buffer += chunk;
      let end: number;
      while ((end = subscriber.buffer.indexOf('\n\n')) >= 0) {
        const block = subscriber.buffer.slice(0, end);
        subscriber.buffer = subscriber.buffer.slice(end + 2);
        this.frame(subscriber, block, at);
      }
    }
  }

  private frame(subscriber: Subscriber, block: string, at: number): void {
    let event = '';
    let id = '';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.heartbeats++;
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data = data === '' ? value : `${data}\n${value}`;
    }
    if (event === 'ready') {
      subscriber.ready = true;
      subscriber.onReady?.();
    } else if (event === 'change') {
      this.change(subscriber, Number(id), data, at);
    } else if (event !== '') {
      this.fail(`subscriber ${subscriber.index}: unexpected "${event}" event: ${data}`);
    }
  }

  private change(subscriber: Subscriber, id: number, data: string, at: number): void {
    subscriber.ids.push(id);
    subscriber.at.push(at);
    if (!Number.isInteger(id) || id <= subscriber.lastId) {
      this.fail(`subscriber ${subscriber.index}: event ${id} after ${subscriber.lastId}`);
      return;
    }
    subscriber.lastId = id;
    const first = this.payloads.get(id);
    if (first === undefined) this.firstCopy(id, data);
    else if (data !== first) this.fail(`subscriber ${subscriber.index}: event ${id} differs`);
    const count = (this.counts.get(id) ?? 0) + 1;
    this.counts.set(id, count);
    const key = this.keys.get(id);
    if (count === this.size && key !== undefined) {
      this.send({ type: 'delivered', key, id, lastAt: at });
    }
  }

  private firstCopy(id: number, data: string): void {
    this.payloads.set(id, data);
    try {
      const event = JSON.parse(data) as {
        id: number;
        changes: { configId: string; version: number }[];
      };
      if (event.id !== id) throw new Error(`its data says id ${event.id}`);
      this.keys.set(id, changeKey(event.changes[0].configId, event.changes[0].version));
    } catch (error) {
      this.fail(`event ${id}: ${String(error)}`);
    }
  }

  private lost(subscriber: Subscriber, reason: string): void {
    if (!this.closing) this.fail(`subscriber ${subscriber.index}: ${reason}`);
  }

  private fail(message: string): void {
    this.failures.push(message);
    this.send({ type: 'failure', message });
  }
}
