import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { createClient } from '@keyv/redis';
import type { Subscription } from 'rxjs';
import { MetricsService } from '@lib/observability';
import { APP_CONFIG } from '../config/config.constants';
import type { AppConfig } from '../config/app-config';
import type { ChangeEvent } from './change-event';
import { ChangeLog } from './change-log';

/** The Redis channel every committed change is published on (API.md §2, Change stream). */
export const EVENTS_CHANNEL = 'model-configs:events';

/** The few calls the fan-out makes. */
interface RedisClient {
  readonly isReady: boolean;
  on(event: 'ready', listener: () => void): unknown;
  publish(channel: string, message: string): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
}

/**
 * With `CACHE_STORE=redis`, publishes every change event (the stream's JSON) on
 * {@link EVENTS_CHANNEL}, in id order, so that any number of consumers fan out through Redis.
 * Pub/sub delivers at most once: a consumer that sees a gap in the ids (or reconnects) reads what
 * it missed from `GET /api/v1/events/log?since=`. While Redis is down nothing is held in memory:
 * once it is back, the events it missed are published again from the log, in order, so a
 * subscriber connected then still sees every change.
 */
@Injectable()
export class RedisFanout implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RedisFanout');
  private client: RedisClient | undefined;
  private subscription: Subscription | undefined;
  private readonly failures: { inc(): void };
  private readonly published: { inc(): void };
  /** The id of the last event handed to Redis; events after it are published from the log. */
  private lastPublished = 0;
  private started = false;
  private replaying: Promise<void> | undefined;

  constructor(
    private readonly changeLog: ChangeLog,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.published = metrics.counter({
      name: 'events_redis_published_total',
      help: 'Change events published on the Redis channel.',
    });
    this.failures = metrics.counter({
      name: 'events_redis_publish_failures_total',
      help: 'Change events not published because Redis was unavailable.',
    });
  }

  onModuleInit(): void {
    if (this.config.cache.store !== 'redis') return;
    const client = createClient({
      url: this.config.cache.redisUrl,
      socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000) },
    });
    client.on('error', () => undefined);
    this.client = client as unknown as RedisClient;
    client.connect().catch((error: unknown) => {
      this.logger.warn(`Redis fan-out not connected yet: ${String(error)}`);
    });
    this.client.on('ready', () => void this.replay());
    this.subscription = this.changeLog.events.subscribe((event) => {
      if (!this.started || this.replaying) return;
      if (event.id !== this.lastPublished + 1 || !this.client?.isReady) {
        this.failures.inc();
        return void this.replay();
      }
      this.publish(event);
    });
  }

  /** From the change log's newest id on (after it recovered what a crash left). */
  async onApplicationBootstrap(): Promise<void> {
    await this.changeLog.ready;
    this.lastPublished = this.changeLog.head;
    this.started = this.client !== undefined;
  }

  /** Hands one event to Redis; commands on one connection keep their order. */
  private publish(event: ChangeEvent): void {
    const client = this.client;
    if (!client) return;
    this.lastPublished = event.id;
    client.publish(EVENTS_CHANNEL, JSON.stringify(event)).then(
      () => this.published.inc(),
      () => {
        this.failures.inc();
        // Published again from the log once Redis is back.
        this.lastPublished = Math.min(this.lastPublished, event.id - 1);
      },
    );
  }

  /** Publishes, in order, what Redis has not had, from the log; one replay at a time. */
  private replay(): Promise<void> {
    if (!this.started) return Promise.resolve();
    // Assigned before its first step runs; cleared only once it has settled.
    this.replaying ??= this.publishMissed().finally(() => (this.replaying = undefined));
    return this.replaying;
  }

  private async publishMissed(): Promise<void> {
    try {
      while (this.client?.isReady && this.lastPublished < this.changeLog.head) {
        const page = await this.changeLog.since(this.lastPublished, 500);
        if (page.reset) this.lastPublished = page.head;
        for (const event of page.events) this.publish(event);
        if (page.events.length === 0) break;
      }
    } catch (error) {
      this.logger.warn(`Could not publish missed events: ${String(error)}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscription?.unsubscribe();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await client.close().catch(() => client.destroy());
  }
}
