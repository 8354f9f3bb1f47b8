/** A ModelConfig as the service returns it (API.md §1). */
export interface ModelConfig {
  id: string;
  usageType: string;
  priority: number;
  modelId: string;
  modelName: string;
  provider: string;
  parameters: Record<string, unknown>;
  enabled: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** One config's part of a change event. */
export interface EventChange {
  action: 'create' | 'update' | 'delete';
  configId: string;
  usageType: string;
  /** For a config moved to another usage type: the one it left. */
  movedFrom?: string;
  priority: number;
  /** The config's version after the change (for a delete, the version deleted). */
  version: number;
  /** The config as it is now; null when deleted. */
  config: ModelConfig | null;
}

/** One committed change, as the service's stream, event log and Redis channel carry it. */
export interface ChangeEvent {
  /** Increases by one with every committed change, in commit order. */
  id: number;
  operation: string;
  actor: string | null;
  committedAt: string;
  /** Every usage type the change touched (both, for a config moved from one to another). */
  usageTypes: string[];
  changes: EventChange[];
}

/** What {@link ModelConfigClient.onChange} listeners receive. */
export interface ClientChange {
  /** The usage types whose configs changed (among those the client keeps). */
  usageTypes: string[];
  /** The event, or undefined when the client reloaded everything (start, reset, catch-up). */
  event?: ChangeEvent;
}

/** Options of {@link ModelConfigClient.connect}. */
export interface ModelConfigClientOptions {
  /** The service's origin, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** Usage types to keep; all of them when omitted. */
  usageTypes?: readonly string[];
  /** Sent as `X-API-Key` (needed when the service sets `EVENTS_REQUIRE_KEY`). */
  apiKey?: string;
  /**
   * `stream` (default): Server-Sent Events from the service. `redis`: the service's Redis
   * channel (`redis.url` needed), with gaps read from the service's event log.
   */
  mode?: 'stream' | 'redis';
  redis?: { url: string; channel?: string };
  /** How long `connect` waits for the first copy before it rejects (default 10 s). */
  connectTimeoutMs?: number;
  /** Reconnect backoff bounds (default 100 ms doubling to 5 s, with jitter). */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
  /** The `fetch` to use (default the global one). */
  fetch?: typeof fetch;
}
