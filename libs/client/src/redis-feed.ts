import type { ChangeEvent } from './types';

/** The service's channel (API.md §2, Change stream). */
export const DEFAULT_EVENTS_CHANNEL = 'model-configs:events';

/** What the feed tells its client. */
export interface RedisFeedHandlers {
  /** Reads from the service what came after `since` (and the first copy, before ready). */
  catchUp(since: number): Promise<void>;
  /** The id of the last event applied. */
  lastId(): number;
  /** One event from the channel, in order, after any gap before it was caught up. */
  event(event: ChangeEvent): void;
  connected(up: boolean): void;
  signal: AbortSignal;
  delays?: { minDelayMs?: number; maxDelayMs?: number };
}

interface Subscriber {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
}

/**
 * Follows the service's Redis channel. Pub/sub delivers at most once, so every (re)connection and
 * every gap in the ids is caught up from the service's event log first; messages are handled one
 * at a time, in arrival order. Needs the optional peer dependency `@redis/client`.
 */
export class RedisFeed {
  private subscriber: Subscriber | undefined;
  private chain: Promise<void> = Promise.resolve();
  private subscribed = false;

  constructor(
    private readonly options: { url: string; channel?: string },
    private readonly handlers: RedisFeedHandlers,
  ) {}

  async start(): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createClient } = require('@redis/client') as {
      createClient(options: object): Subscriber;
    };
    const { minDelayMs = 100, maxDelayMs = 5_000 } = this.handlers.delays ?? {};
    const subscriber = createClient({
      url: this.options.url,
      socket: { reconnectStrategy: (n: number) => Math.min(minDelayMs * 2 ** n, maxDelayMs) },
    });
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined);
    subscriber.on('end', () => this.handlers.connected(false));
    // Every connection (the first, and each after a restart of Redis) catches up first.
    subscriber.on('ready', () => {
      this.handlers.connected(true);
      if (this.subscribed) this.enqueue(() => this.catchUp());
    });
    await subscriber.connect();
    await subscriber.subscribe(this.options.channel ?? DEFAULT_EVENTS_CHANNEL, (message) =>
      this.enqueue(() => this.receive(message)),
    );
    this.subscribed = true;
    this.enqueue(() => this.catchUp());
  }

  async close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    await subscriber?.close().catch(() => subscriber.destroy());
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch(() => {
      // The service is unreachable: the next message or reconnection catches up again.
    });
  }

  private async catchUp(): Promise<void> {
    if (this.handlers.signal.aborted) return;
    await this.handlers.catchUp(this.handlers.lastId());
  }

  private async receive(message: string): Promise<void> {
    const event = JSON.parse(message) as ChangeEvent;
    if (event.id > this.handlers.lastId() + 1) await this.catchUp();
    this.handlers.event(event);
  }
}
