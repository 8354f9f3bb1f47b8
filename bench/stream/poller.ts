import { Agent, request } from 'node:http';
import { type ChildMessage, changeKey, nowMs, type ReportMessage } from './protocol';

/** A poll not answered by then is a failure. */
const POLL_TIMEOUT_MS = 5_000;

/**
 * What a client without the stream does: `GET /api/v1/usage-types/<t>/active` on a fixed
 * schedule (every `pollMs` from the start; a tick that comes while a poll is in flight is
 * skipped), over one kept-alive socket. A new `id@version` is "seen" when its answer has been
 * read in full.
 */
export class Poller {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly seen: [string, number][] = [];
  private readonly failures: string[] = [];
  private lastKey: string | undefined;
  private polls = 0;
  private inFlight = false;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(
    private readonly baseUrl: string,
    private readonly usageType: string,
    private readonly pollMs: number,
    private readonly send: (message: ChildMessage) => void,
  ) {}

  /** Polls once (the version before any change), then keeps polling on schedule. */
  async open(): Promise<void> {
    const first = await this.get();
    this.lastKey = first.key;
    const start = nowMs();
    let tick = 0;
    const schedule = () => {
      tick++;
      const delay = Math.max(0, start + tick * this.pollMs - nowMs());
      this.timer = setTimeout(() => {
        if (!this.inFlight) void this.poll();
        schedule();
      }, delay);
    };
    schedule();
  }

  report(): ReportMessage {
    return {
      type: 'report',
      subscribers: [],
      keys: [],
      seen: this.seen,
      heartbeats: 0,
      polls: this.polls,
      failures: this.failures,
    };
  }

  close(): void {
    this.closing = true;
    clearTimeout(this.timer);
    this.agent.destroy();
  }

  private async poll(): Promise<void> {
    this.inFlight = true;
    try {
      const { key, version, at } = await this.get();
      if (key !== this.lastKey) {
        this.lastKey = key;
        this.seen.push([key, at]);
        this.send({ type: 'delivered', key, id: version, lastAt: at });
      }
    } catch (error) {
      if (!this.closing) {
        const message = `poller: ${String(error)}`;
        this.failures.push(message);
        this.send({ type: 'failure', message });
      }
    } finally {
      this.inFlight = false;
    }
  }

  /** One poll: the active config's key, and when its answer was read. */
  private get(): Promise<{ key: string; version: number; at: number }> {
    this.polls++;
    const url = `${this.baseUrl}/api/v1/usage-types/${this.usageType}/active`;
    return new Promise((resolve, reject) => {
      const req = request(url, { agent: this.agent, timeout: POLL_TIMEOUT_MS }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('error', reject);
        res.on('end', () => {
          const at = nowMs();
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${body}`));
          try {
            const config = JSON.parse(body) as { id: string; version: number };
            resolve({ key: changeKey(config.id, config.version), version: config.version, at });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error('poll timed out')));
      req.on('error', reject);
      req.end();
    });
  }
}
