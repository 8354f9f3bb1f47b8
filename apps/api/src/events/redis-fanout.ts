import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { createClient } from '@keyv/redis';
import type { Subscription } from 'rxjs';
import { MetricsService } from '@lib/observability';
import { APP_CONFIG } from '../config/config.constants';
import type { AppConfig } from '../config/app-config';
import { ChangeLog } from './change-log';

/** The Redis channel every committed change is published on (API.md §2, Change stream). */
export const EVENTS_CHANNEL = 'model-configs:events';

/** The few calls the fan-out makes. */
interface RedisClient {
  readonly isReady: boolean;
  publish(channel: string, message: string): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
}

/**
 * With `CACHE_STORE=redis`, publishes every change event (the stream's JSON) on
 * {@link EVENTS_CHANNEL}, in id order, so that any number of consumers fan out through Redis.
 * Pub/sub delivers at most once: a consumer that sees a gap in the ids (or reconnects) reads what
 * it missed from `GET /api/v1/events/log?since=`. A publish while Redis is down is counted and
 * skipped, never retried into memory.
 */
@Injectable()
export class RedisFanout implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RedisFanout');
  private client: RedisClient | undefined;
  private subscription: Subscription | undefined;
  private readonly failures: { inc(): void };
  private readonly published: { inc(): void };

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
    const publisher = this.client;
    this.subscription = this.changeLog.events.subscribe((event) => {
      if (!publisher.isReady) return this.failures.inc();
      publisher.publish(EVENTS_CHANNEL, JSON.stringify(event)).then(
        () => this.published.inc(),
        () => this.failures.inc(),
      );
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscription?.unsubscribe();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await client.close().catch(() => client.destroy());
  }
}
