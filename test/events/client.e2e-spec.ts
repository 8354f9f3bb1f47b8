import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import { type ChangeEvent, ModelConfigClient, type ModelConfig } from '@model-configs/client';
import {
  type ServerProcess,
  cleanupServers,
  makeTempDir,
  startServer,
  stopServer,
} from '../process/server-process';
import { ApiClient } from '../support/api';
import { API, configBody, ok, unique } from '../support/http';
import { type RedisServer, startRedis } from '../support/redis-server';

jest.setTimeout(120_000);

const KEY = 'client-key-0123456789';

const until = async (condition: () => boolean, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('Condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

/** What the service holds for `usageType`, by priority. */
const served = async (api: ApiClient, usageType: string): Promise<ModelConfig[]> =>
  (await api.ofUsageType(usageType)) as ModelConfig[];

describe('@model-configs/client against a real server process', () => {
  let server: ServerProcess;
  let api: ApiClient;
  let client: ModelConfigClient | undefined;
  const dir = makeTempDir('mcs-client-');
  const start = (port?: number) =>
    startServer({
      dbPath: join(dir, 'db.duckdb'),
      port,
      env: { API_KEY: KEY, LOG_LEVEL: 'warn', EVENTS_HEARTBEAT_MS: '500' },
    });

  beforeAll(async () => {
    server = await start();
    api = new ApiClient(server.baseUrl, { 'x-api-key': KEY });
  });
  afterAll(async () => {
    client?.close();
    await cleanupServers();
  });

  it('loads the chains and answers from memory, synchronously, never throwing', async () => {
    client = await ModelConfigClient.connect({
      url: server.baseUrl,
      usageTypes: ['chat_deep', 'embedding', 'nothing-here'],
      reconnect: { minDelayMs: 50, maxDelayMs: 500 },
    });
    const [deep] = await served(api, 'chat_deep');
    expect(client.active('chat_deep')).toEqual(deep);
    expect(client.chain('embedding')).toEqual(await served(api, 'embedding'));
    expect(client.active('nothing-here')).toBeUndefined();
    expect(client.chain('not-kept')).toEqual([]);
    expect(client.connected).toBe(true);
  });

  it('sees a change within 100 ms on loopback (median of 15)', async () => {
    const c = client as ModelConfigClient;
    const [deep] = await served(api, 'chat_deep');
    let config = deep;
    const latencies: number[] = [];
    for (let i = 0; i < 15; i++) {
      const seen = new Promise<number>((resolve) => {
        const stop = c.onChange(({ usageTypes }) => {
          if (!usageTypes.includes('chat_deep')) return;
          stop();
          resolve(performance.now());
        });
      });
      const sent = performance.now();
      config = await api.patch(config.id, { modelName: `Live ${i}` });
      latencies.push((await seen) - sent);
      expect(c.active('chat_deep')).toEqual(config);
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `client change latency ms: p50 ${latencies[7].toFixed(1)}, max ${latencies[14].toFixed(1)}`,
    );
    expect(latencies[7]).toBeLessThan(100);
  });

  it('keeps answering while the server is down, then resumes without a gap', async () => {
    const c = client as ModelConfigClient;
    const before = c.chain('chat_deep');
    await stopServer(server);
    await until(() => !c.connected);
    expect(c.chain('chat_deep')).toEqual(before);
    expect(c.active('chat_deep')).toEqual(before[0]);

    // Changes made while the client is away (the server restarted on the same file and port).
    server = await start(server.port);
    api = new ApiClient(server.baseUrl, { 'x-api-key': KEY });
    const [deep] = await served(api, 'chat_deep');
    const changed = await api.patch(deep.id, { modelName: 'While you were away' });
    const added = await api.create(configBody('embedding', 7, { modelId: 'late-model' }));
    await until(() => c.connected && c.active('chat_deep')?.version === changed.version);
    await until(() => c.chain('embedding').some((config) => config.id === added.id));
    expect(c.chain('chat_deep')).toEqual(await served(api, 'chat_deep'));
    expect(c.chain('embedding')).toEqual(await served(api, 'embedding'));
    const head = ok<{ lastEventId: number }>(
      await api.http().get(`${API}/events/log?since=0&limit=1`),
    );
    expect(c.lastEventId).toBe(head.lastEventId);
    expect(c.lastEventAt).toBeInstanceOf(Date);
  });

  it('withFallback runs down the chain until one succeeds, as the predicate allows', async () => {
    const c = client as ModelConfigClient;
    const ut = unique('fallback');
    for (const p of [1, 2, 3]) await api.create(configBody(ut, p, { modelId: `m-${p}` }));
    const mine = await ModelConfigClient.connect({ url: server.baseUrl, usageTypes: [ut] });
    try {
      const tried: string[] = [];
      const answer = await mine.withFallback(ut, async (config) => {
        tried.push(config.modelId);
        if (config.modelId !== 'm-3') throw new Error('rate limited');
        return 'ok';
      });
      expect([answer, tried]).toEqual(['ok', ['m-1', 'm-2', 'm-3']]);
      const fatal = new Error('bad request');
      await expect(
        mine.withFallback(
          ut,
          async () => {
            throw fatal;
          },
          { shouldFallThrough: (error) => error !== fatal },
        ),
      ).rejects.toBe(fatal);
      await expect(mine.withFallback('none', async () => 1)).rejects.toThrow(/No enabled model/);
    } finally {
      mine.close();
    }
    expect(c.usageTypes()).not.toContain(ut);
  });
});

describe('Redis fan-out', () => {
  let redis: RedisServer;
  let server: ServerProcess;
  let api: ApiClient;

  beforeAll(async () => {
    redis = await startRedis();
    server = await startServer({
      dbPath: join(makeTempDir('mcs-fanout-'), 'db.duckdb'),
      env: { API_KEY: KEY, LOG_LEVEL: 'warn', CACHE_STORE: 'redis', REDIS_URL: redis.url },
    });
    api = new ApiClient(server.baseUrl, { 'x-api-key': KEY });
  });
  afterAll(async () => {
    await cleanupServers();
    await redis?.stop();
  });

  it('a Redis subscriber sees every committed change exactly once, in order', async () => {
    const subscriber = createClient({ url: redis.url });
    subscriber.on('error', () => undefined);
    await subscriber.connect();
    const ids: number[] = [];
    await subscriber.subscribe('model-configs:events', (message) => {
      ids.push((JSON.parse(message) as ChangeEvent).id);
    });
    try {
      const ut = unique('fanout');
      const config = await api.create(configBody(ut, 1));
      for (let i = 0; i < 20; i++) await api.patch(config.id, { modelName: `n${i}` });
      await until(() => ids.length >= 21);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(ids).toHaveLength(21);
      expect(ids).toEqual(Array.from({ length: 21 }, (_, i) => ids[0] + i));
    } finally {
      await subscriber.close();
    }
  });

  it('a client in redis mode loses nothing when Redis is killed and restarted under load', async () => {
    const ut = unique('redis-mode');
    const configs: ModelConfig[] = [];
    for (const p of [1, 2, 3]) configs.push(await api.create(configBody(ut, p)));
    const client = await ModelConfigClient.connect({
      url: server.baseUrl,
      usageTypes: [ut],
      mode: 'redis',
      redis: { url: redis.url },
      reconnect: { minDelayMs: 50, maxDelayMs: 300 },
    });
    try {
      let writes = 0;
      let stop = false;
      const load = (async () => {
        while (!stop) {
          const target = configs[writes % 3];
          const fresh = await api
            .patch(target.id, { modelName: `w${writes}` })
            .catch(() => undefined);
          if (fresh) configs[writes % 3] = fresh;
          writes++;
        }
      })();
      await until(() => writes > 20);
      await redis.kill('SIGKILL');
      await until(() => writes > 60);
      await redis.restart();
      await until(() => writes > 100);
      stop = true;
      await load;
      const expected = await served(api, ut);
      await until(() => JSON.stringify(client.configs(ut)) === JSON.stringify(expected), 15_000);
      const head = ok<{ lastEventId: number }>(
        await api.http().get(`${API}/events/log?since=0&limit=1`),
      );
      await until(() => client.lastEventId === head.lastEventId, 15_000);
    } finally {
      client.close();
    }
  });
});
