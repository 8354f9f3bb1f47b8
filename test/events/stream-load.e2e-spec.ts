import { readFileSync } from 'node:fs';
import { type ClientRequest, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  type ServerProcess,
  cleanupServers,
  makeTempDir,
  startServer,
} from '../process/server-process';
import { ApiClient } from '../support/api';
import { API, unique } from '../support/http';

jest.setTimeout(120_000);

const KEY = 'load-key-0123456789';
/** The documented bound (docs/API.md, Change stream): 500 open streams cost less than this. */
const RSS_BOUND_FOR_500_STREAMS = 64 * 1024 * 1024;

const rssOf = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;

const until = async (condition: () => boolean, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('Condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** A stream read by node:http, counting `event: change` frames. */
function openStream(server: ServerProcess): { changes: () => number; req: ClientRequest } {
  let text = '';
  let changes = 0;
  const req = request(`${server.baseUrl}${API}/events`, { agent: false }, (res) => {
    res.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const frames = text.split('\n\n');
      text = frames.pop() ?? '';
      changes += frames.filter((frame) => frame.includes('event: change')).length;
    });
  });
  req.on('error', () => undefined);
  req.end();
  return { changes: () => changes, req };
}

const metric = async (server: ServerProcess, pattern: RegExp): Promise<number> =>
  Number(pattern.exec(await (await fetch(`${server.baseUrl}/metrics`)).text())?.[1] ?? 0);

describe('change stream under load (a real server process)', () => {
  let server: ServerProcess;
  let api: ApiClient;

  beforeAll(async () => {
    server = await startServer({
      dbPath: join(makeTempDir('mcs-streams-'), 'db.duckdb'),
      env: {
        API_KEY: KEY,
        LOG_LEVEL: 'warn',
        EVENTS_CLIENT_BUFFER_BYTES: String(64 * 1024),
        UV_THREADPOOL_SIZE: '8',
      },
    });
    api = new ApiClient(server.baseUrl, { 'x-api-key': KEY });
  });
  afterAll(() => cleanupServers());

  it('500 streams get every event, within the documented memory bound', async () => {
    const rssBefore = rssOf(server.pid);
    const streams = Array.from({ length: 500 }, () => openStream(server));
    const ut = unique('load');
    // Let every stream register before the writes.
    const deadline = Date.now() + 20_000;
    while ((await metric(server, /^event_streams_open (\d+)/m)) < 500) {
      if (Date.now() > deadline) throw new Error('500 streams did not open');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const config = await api.create({
      usageType: ut,
      priority: 1,
      modelId: 'm',
      modelName: 'M',
      provider: 'p',
    });
    for (let i = 0; i < 19; i++) await api.patch(config.id, { modelName: `n${i}` });
    await until(() => streams.every((stream) => stream.changes() >= 20));
    const growth = rssOf(server.pid) - rssBefore;
    console.log(`500 streams, 20 events each: server RSS +${(growth / 2 ** 20).toFixed(1)} MiB`);
    expect(growth).toBeLessThan(RSS_BOUND_FOR_500_STREAMS);
    for (const stream of streams) stream.req.destroy();
  });

  it('drops a stalled client instead of buffering for it; the others keep up', async () => {
    const droppedBefore = await metric(
      server,
      /^event_stream_clients_dropped_total\{reason="slow"\} (\d+)/m,
    );
    // A client that sends its request and never reads.
    const stalled = connect(server.port, '127.0.0.1');
    stalled.write(`GET ${API}/events HTTP/1.1\r\nHost: x\r\n\r\n`);
    stalled.pause();
    const healthy = openStream(server);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ut = unique('stall');
    const big = 'x'.repeat(4_000);
    const items = Array.from({ length: 100 }, (_, i) => ({
      modelId: `m-${i}`,
      modelName: `M ${i}`,
      provider: 'p',
      parameters: { big },
    }));
    // ~30 events of ~450 KB: far past the socket buffers and the 64 KiB bound.
    for (let i = 0; i < 30; i++) {
      const res = await api
        .http()
        .put(`${API}/usage-types/${ut}/chain`)
        .set(api.writeHeaders)
        .send({ items });
      expect(res.status).toBe(200);
    }
    await until(() => healthy.changes() >= 30, 30_000);
    const droppedAfter = await metric(
      server,
      /^event_stream_clients_dropped_total\{reason="slow"\} (\d+)/m,
    );
    expect(droppedAfter - droppedBefore).toBe(1);
    stalled.destroy();
    healthy.req.destroy();
  });
});
