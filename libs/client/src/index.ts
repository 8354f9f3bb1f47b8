export { ModelConfigClient } from './model-config-client';
export { runWithFallback, type FallbackOptions } from './with-fallback';
export { DEFAULT_EVENTS_CHANNEL } from './redis-feed';
export type {
  ChangeEvent,
  ClientChange,
  EventChange,
  ModelConfig,
  ModelConfigClientOptions,
} from './types';
export { readSse, type SseMessage } from './sse-reader';
