import { Logger } from '@nestjs/common';
import { KeyvCacheableMemory } from '@cacheable/memory';
import KeyvRedis, { createClient, type RedisClientType } from '@keyv/redis';
import { Keyv } from 'keyv';
import type { QueryCacheModuleOptions } from './query-cache.interfaces';

/** The Keyv store behind the cache and, for Redis, its client (for health and shutdown). */
export interface CacheStoreHandle {
  kind: 'memory' | 'redis';
  keyv: Keyv;
  /** True while the store can be reached (always, for memory). */
  isReady(): boolean;
  /** Closes the connection (Redis). */
  close(): Promise<void>;
}

const logger = new Logger('QueryCache');

/**
 * Creates the Keyv store: a bounded LRU in this process, or Redis through `@keyv/redis`.
 *
 * The Redis client never queues commands while disconnected (`disableOfflineQueue`), so a call
 * during an outage fails at once instead of hanging; it reconnects by itself with capped
 * exponential backoff; startup does not wait for it.
 */
export function createCacheStore(options: Required<QueryCacheModuleOptions>): CacheStoreHandle {
  if (options.store === 'memory') {
    // QueryCache stores JSON text and never mutates entries: no cloning, no (de)serialization,
    // and one shard (hashing every key to pick a shard costs more than it saves here).
    const keyv = new Keyv({
      store: new KeyvCacheableMemory({
        lruSize: options.maxEntries,
        storeHashSize: 1,
        useClone: false,
      }),
      serialize: undefined,
      deserialize: undefined,
    });
    return { kind: 'memory', keyv, isReady: () => true, close: async () => undefined };
  }
  const client = createClient({
    url: options.redisUrl,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 1_000,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1_000),
    },
  }) as RedisClientType;
  let lastError = '';
  client.on('error', (error: Error) => {
    // Logged once per distinct message, not once per reconnect attempt.
    if (error.message !== lastError) logger.warn(`Redis: ${error.message}`);
    lastError = error.message;
  });
  client.on('ready', () => {
    if (lastError) logger.log('Redis is reachable again');
    lastError = '';
  });
  const adapter = new KeyvRedis(client, {
    namespace: options.namespace,
    throwOnConnectError: false,
    throwOnErrors: true,
  });
  const keyv = new Keyv({
    store: adapter,
    namespace: options.namespace,
    useKeyPrefix: false,
    throwOnErrors: true,
  });
  keyv.on('error', () => undefined); // counted by QueryCache; the client listener logs
  // Connect in the background: the application starts whether or not Redis is up.
  client.connect().catch(() => undefined);
  return {
    kind: 'redis',
    keyv,
    isReady: () => client.isReady,
    // No graceful QUIT: close() waits for replies a hung Redis never sends; a cache loses nothing.
    close: async () => {
      if (client.isOpen) client.destroy();
    },
  };
}
