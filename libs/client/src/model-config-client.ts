import { LocalCopy } from './local-copy';
import { RedisFeed } from './redis-feed';
import { readSse } from './sse-reader';
import { type FallbackOptions, runWithFallback } from './with-fallback';
import type { ChangeEvent, ClientChange, ModelConfig, ModelConfigClientOptions } from './types';

const API = '/api/v1';

/**
 * A live local copy of the service's routing: `connect` loads the configs of the usage types it
 * keeps, then keeps them current from the service's change stream (or its Redis channel),
 * reconnecting and resuming by event id by itself. Reads (`active`, `chain`, `configs`) are
 * synchronous, from memory, and never throw once ready: while the service is down they answer the
 * last known copy (see `lastEventAt` and `connected` for staleness).
 *
 * @example
 * const client = await ModelConfigClient.connect({ url: 'http://127.0.0.1:3000', usageTypes: ['chat_deep'] });
 * const model = client.active('chat_deep')?.modelId;
 * const answer = await client.withFallback('chat_deep', (config) => callLlm(config.modelId));
 */
export class ModelConfigClient {
  /** Resolves once the first copy is loaded. */
  readonly ready: Promise<void>;
  /** When the service last sent anything (an event or a heartbeat). */
  lastEventAt: Date | undefined;
  /** The id of the last change applied (the stream's resume point). */
  lastEventId = 0;
  /** True while the stream (or Redis channel) is connected. */
  connected = false;

  private readonly copy: LocalCopy;
  private readonly listeners = new Set<(change: ClientChange) => void>();
  private readonly abort = new AbortController();
  private readonly fetch: typeof fetch;
  private readonly origin: string;
  private markReady!: () => void;
  private isReady = false;
  private redis: RedisFeed | undefined;

  private constructor(private readonly options: ModelConfigClientOptions) {
    const kept = options.usageTypes && new Set(options.usageTypes);
    this.copy = new LocalCopy((usageType) => !kept || kept.has(usageType));
    this.fetch = options.fetch ?? fetch;
    this.origin = options.url.replace(/\/+$/, '');
    this.ready = new Promise<void>((resolve) => (this.markReady = resolve));
  }

  /** Starts a client and resolves once its first copy is loaded (rejects after the timeout). */
  static async connect(options: ModelConfigClientOptions): Promise<ModelConfigClient> {
    const client = new ModelConfigClient(options);
    client.start();
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`No copy from ${client.origin} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([client.ready, timeout]);
    } catch (error) {
      client.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  /** The active config of `usageType`: its enabled config with the lowest priority. */
  active(usageType: string): ModelConfig | undefined {
    return this.chain(usageType)[0];
  }

  /** The enabled configs of `usageType`, by priority: the model and its fallbacks. */
  chain(usageType: string): ModelConfig[] {
    return this.copy.configs(usageType).filter((config) => config.enabled);
  }

  /** Every config of `usageType` kept, disabled ones included, by priority. */
  configs(usageType: string): ModelConfig[] {
    return [...this.copy.configs(usageType)];
  }

  /** The usage types held. */
  usageTypes(): string[] {
    return this.copy.usageTypes();
  }

  /** Calls `listener` after every change applied; returns a function that removes it. */
  onChange(listener: (change: ClientChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Runs `fn` with the active config of `usageType`, then down its chain while `fn` fails and
   * `shouldFallThrough(error)` says to try the next (default: always). Throws the last error.
   */
  withFallback<T>(
    usageType: string,
    fn: (config: ModelConfig) => Promise<T>,
    options?: FallbackOptions,
  ): Promise<T> {
    return runWithFallback(usageType, this.chain(usageType), fn, options);
  }

  /** Stops following the service. */
  close(): void {
    this.abort.abort();
    this.connected = false;
    void this.redis?.close();
  }

  private start(): void {
    if (this.options.mode === 'redis') {
      if (!this.options.redis) throw new Error('mode "redis" needs options.redis.url');
      this.redis = new RedisFeed(this.options.redis, {
        catchUp: (since) => this.catchUp(since),
        lastId: () => this.lastEventId,
        event: (event) => this.handle(event),
        connected: (up) => (this.connected = up),
        signal: this.abort.signal,
        delays: this.options.reconnect,
      });
      void this.redis.start();
      return;
    }
    void this.follow();
  }

  /** Follows the stream, reconnecting with backoff, resuming from the last id. */
  private async follow(): Promise<void> {
    const { minDelayMs = 100, maxDelayMs = 5_000 } = this.options.reconnect ?? {};
    let delay = minDelayMs;
    while (!this.abort.signal.aborted) {
      try {
        await this.readStream(() => (delay = minDelayMs));
      } catch {
        // Down, refused or cut: retry below.
      }
      this.connected = false;
      if (this.abort.signal.aborted) return;
      await sleep(delay * (0.5 + Math.random() / 2), this.abort.signal);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }

  private async readStream(onOpen: () => void): Promise<void> {
    const path = this.isReady ? `${API}/events?since=${this.lastEventId}` : `${API}/events`;
    const response = await this.fetch(`${this.origin}${path}`, {
      headers: { accept: 'text/event-stream', ...this.keyHeader() },
      signal: this.abort.signal,
    });
    if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
    this.connected = true;
    onOpen();
    const waiting: ChangeEvent[] = [];
    let loading = false;
    for await (const message of readSse(response.body as unknown as AsyncIterable<Uint8Array>)) {
      this.lastEventAt = new Date();
      if (message.event === 'change') {
        const event = JSON.parse(message.data) as ChangeEvent;
        if (loading) waiting.push(event);
        else this.handle(event);
      } else if (message.event === 'ready' && !this.isReady) {
        loading = true;
        await this.reload(
          Number((JSON.parse(message.data) as { lastEventId: number }).lastEventId),
        );
        loading = false;
        for (const event of waiting.splice(0)) this.handle(event);
      } else if (message.event === 'reset') {
        await this.reload(
          Number((JSON.parse(message.data) as { lastEventId: number }).lastEventId),
        );
      }
    }
  }

  /** Applies one event in id order (older or repeated ones are skipped). */
  private handle(event: ChangeEvent): void {
    if (event.id <= this.lastEventId) return;
    this.lastEventId = event.id;
    this.lastEventAt = new Date();
    const usageTypes = this.copy.apply(event);
    if (usageTypes.length > 0) this.emit({ usageTypes, event });
  }

  /** Loads every kept usage type again; the copy is then current up to `eventId`. */
  private async reload(eventId: number): Promise<void> {
    const kept = this.options.usageTypes;
    const configs = await this.fetchConfigs(kept);
    const byUsageType = new Map<string, ModelConfig[]>((kept ?? []).map((u) => [u, []]));
    for (const config of configs) {
      const list = byUsageType.get(config.usageType) ?? [];
      list.push(config);
      byUsageType.set(config.usageType, list);
    }
    for (const [usageType, list] of byUsageType) this.copy.load(usageType, list);
    this.lastEventId = Math.max(this.lastEventId, eventId);
    if (!this.isReady) {
      this.isReady = true;
      this.markReady();
    }
    this.emit({ usageTypes: [...byUsageType.keys()] });
  }

  /** Redis mode: reads what was missed after `since` from the event log. */
  private async catchUp(since: number): Promise<void> {
    if (!this.isReady) {
      const head = await this.getJson<{ lastEventId: number }>(`${API}/events/log?since=0&limit=1`);
      return this.reload(head.lastEventId);
    }
    for (;;) {
      const page = await this.getJson<{
        events: ChangeEvent[];
        lastEventId: number;
        reset: boolean;
      }>(`${API}/events/log?since=${Math.max(since, this.lastEventId)}&limit=1000`);
      if (page.reset) return this.reload(page.lastEventId);
      for (const event of page.events) this.handle(event);
      if (page.events.length < 1000) return;
    }
  }

  private async fetchConfigs(usageTypes: readonly string[] | undefined): Promise<ModelConfig[]> {
    const queries = usageTypes
      ? usageTypes.map((u) => `usageType=${encodeURIComponent(u)}&`)
      : [''];
    const configs: ModelConfig[] = [];
    for (const query of queries) {
      for (let offset = 0; ; offset += 1000) {
        const page = await this.getJson<{ items: ModelConfig[]; total: number }>(
          `${API}/model-configs?${query}limit=1000&offset=${offset}`,
        );
        configs.push(...page.items);
        if (offset + page.items.length >= page.total || page.items.length === 0) break;
      }
    }
    return configs;
  }

  private async getJson<T>(path: string): Promise<T> {
    const response = await this.fetch(`${this.origin}${path}`, {
      headers: { accept: 'application/json', ...this.keyHeader() },
      signal: this.abort.signal,
    });
    if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
    return (await response.json()) as T;
  }

  private keyHeader(): Record<string, string> {
    return this.options.apiKey ? { 'x-api-key': this.options.apiKey } : {};
  }

  private emit(change: ClientChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own; the copy stays current.
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
