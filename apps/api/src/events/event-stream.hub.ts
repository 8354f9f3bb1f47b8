import type { ServerResponse } from 'node:http';
import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { MetricsService } from '@lib/observability';
import { APP_CONFIG } from '../config/config.constants';
import type { AppConfig } from '../config/app-config';
import type { ChangeEvent } from './change-event';
import { ChangeLog } from './change-log';

/** Events read from the log per query while a client catches up. */
const CATCH_UP_PAGE = 500;
/** Live events a catching-up client may have waiting before it is dropped. */
const MAX_WAITING_EVENTS = 10_000;

/** One open stream. */
interface StreamClient {
  readonly response: ServerResponse;
  readonly usageType: string | undefined;
  /** The id up to which this client has every event it should see. */
  lastId: number;
  /** Live events that arrived while it was catching up from the log; null once live. */
  waiting: ChangeEvent[] | null;
}

/** `id:`/`event:`/`data:` lines of one Server-Sent Event. */
const frame = (event: string, data: unknown, id?: number): string =>
  `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * The open Server-Sent-Event streams (API.md §2, Change stream). A new client first gets what it
 * missed from the log (`Last-Event-ID` / `since`), then live events, with no gap and no duplicate:
 * it is registered (live events wait for it) before the log is read. A client that still has
 * more than `EVENTS_CLIENT_BUFFER_BYTES` unsent when the next event (or heartbeat) comes is
 * disconnected, never buffered further.
 */
@Injectable()
export class EventStreamHub implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('EventStreams');
  private readonly clients = new Set<StreamClient>();
  private subscription: Subscription | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly metrics: {
    sent: { inc(n?: number): void };
    dropped: { inc(labels: { reason: string }): void };
  };

  constructor(
    private readonly changeLog: ChangeLog,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    const open = metrics.gauge({
      name: 'event_streams_open',
      help: 'Open change streams (Server-Sent Events).',
    });
    metrics.registerCollector(() => open.set(this.clients.size));
    this.metrics = {
      sent: metrics.counter({
        name: 'events_sent_total',
        help: 'Change events written to streams.',
      }),
      dropped: metrics.counter({
        name: 'event_stream_clients_dropped_total',
        help: 'Streams closed by the server: too slow (buffer full) or too far behind.',
        labelNames: ['reason'],
      }),
    };
  }

  onModuleInit(): void {
    this.subscription = this.changeLog.events.subscribe((event) => {
      if (this.clients.size === 0) return;
      // Rendered once per event, not once per client (and not at all without clients).
      const text = frame('change', event, event.id);
      for (const client of this.clients) this.deliver(client, event, text);
    });
    this.heartbeat = setInterval(() => this.beat(), this.config.events.heartbeatMs).unref();
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
    clearInterval(this.heartbeat);
    for (const client of this.clients) client.response.end();
    this.clients.clear();
  }

  /** How many streams are open. */
  get size(): number {
    return this.clients.size;
  }

  /** Whether another stream may open (`EVENTS_MAX_CLIENTS`). */
  get full(): boolean {
    return this.clients.size >= this.config.events.maxClients;
  }

  /**
   * Streams to `response` (already hijacked from Fastify): what the client missed since `since`
   * (none: from now on), then live events, of one usage type if given.
   */
  async open(response: ServerResponse, since: number | undefined, usageType?: string) {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    response.write('retry: 2000\n\n');
    const client: StreamClient = { response, usageType, lastId: 0, waiting: [] };
    this.clients.add(client);
    response.on('close', () => this.clients.delete(client));
    try {
      client.lastId = since === undefined ? this.changeLog.head : await this.catchUp(client, since);
    } catch (error) {
      this.logger.warn(`A stream could not catch up: ${String(error)}`);
      this.drop(client, 'error');
      return;
    }
    const waiting = client.waiting ?? [];
    client.waiting = null;
    for (const event of waiting) this.deliver(client, event, frame('change', event, event.id));
    this.write(client, frame('ready', { lastEventId: client.lastId }));
  }

  /** Sends the log after `since`; returns the id the client is then up to. */
  private async catchUp(client: StreamClient, since: number): Promise<number> {
    let lastId = since;
    for (;;) {
      const page = await this.changeLog.since(lastId, CATCH_UP_PAGE, client.usageType);
      if (page.reset) {
        const reason = 'Events after that id are no longer kept; fetch the state again.';
        this.write(client, frame('reset', { reason, lastEventId: page.head }, page.head));
        return page.head;
      }
      for (const event of page.events) this.write(client, frame('change', event, event.id));
      this.metrics.sent.inc(page.events.length);
      if (page.events.length < CATCH_UP_PAGE) return Math.max(lastId, page.head);
      lastId = page.events[page.events.length - 1].id;
    }
  }

  private deliver(client: StreamClient, event: ChangeEvent, text: string): void {
    if (client.waiting) {
      client.waiting.push(event);
      if (client.waiting.length > MAX_WAITING_EVENTS) this.drop(client, 'behind');
      return;
    }
    if (event.id <= client.lastId) return;
    client.lastId = event.id;
    if (client.usageType !== undefined && !event.usageTypes.includes(client.usageType)) return;
    this.write(client, text);
    this.metrics.sent.inc();
  }

  private beat(): void {
    for (const client of this.clients) this.write(client, ': heartbeat\n\n');
  }

  /**
   * Writes, unless the client still has more than the bound unsent from earlier writes: then it
   * is dropped. A client that reads holds at most the bound plus one event.
   */
  private write(client: StreamClient, text: string): void {
    if (!this.clients.has(client)) return;
    if (client.response.writableLength > this.config.events.clientBufferBytes) {
      this.drop(client, 'slow');
      return;
    }
    client.response.write(text);
  }

  private drop(client: StreamClient, reason: string): void {
    if (!this.clients.delete(client)) return;
    this.metrics.dropped.inc({ reason });
    client.response.destroy();
  }
}
