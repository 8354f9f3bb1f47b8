import { DuckDbClient } from '@lib/duckdb';
import { ChangeLog } from '../../apps/api/src/events/change-log';
import { ApiClient } from '../support/api';
import { API, type ModelConfig, configBody, expectError, ok, unique } from '../support/http';
import { type TestApp, startTestApp } from '../support/test-app';
import { TestStream } from './sse-client';

jest.setTimeout(60_000);

const KEY = 'events-key-0123456789';

describe('change stream (Server-Sent Events over real HTTP, real DuckDB file)', () => {
  let testApp: TestApp;
  let api: ApiClient;
  const streams: TestStream[] = [];
  const open = async (path = `${API}/events`, headers: Record<string, string> = {}) => {
    const stream = await TestStream.open(`${testApp.url}${path}`, headers);
    streams.push(stream);
    return stream;
  };

  beforeAll(async () => {
    testApp = await startTestApp({ API_KEY: KEY, EVENTS_HEARTBEAT_MS: '200' });
    api = new ApiClient(testApp.url, { 'x-api-key': KEY });
  });
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });
  afterAll(() => testApp?.close());

  it('sends one event per committed change, after commit, in order; none for a failed one', async () => {
    const stream = await open();
    const ut = unique('ev');
    const created = await api.create(configBody(ut, 1));
    // Refused and failed writes: a stale If-Match, a bulk whose second item takes a taken slot.
    expectError(
      await api
        .http()
        .patch(`${API}/model-configs/${created.id}`)
        .set({ ...api.writeHeaders, 'if-match': '"9"' })
        .send({ modelName: 'x' }),
      412,
      'VERSION_MISMATCH',
    );
    expectError(
      await api
        .http()
        .post(`${API}/model-configs/bulk`)
        .set(api.writeHeaders)
        .send({ items: [configBody(ut, 2), configBody(ut, 1)] }),
      409,
      'SLOT_TAKEN',
    );
    const renamed = await api.patch(created.id, { modelName: 'Renamed' });
    const mine = () => stream.changes.filter((e) => e.usageTypes.includes(ut));
    await stream.until(() => mine().length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(mine().map((e) => [e.operation, e.changes[0].version])).toEqual([
      ['create', 1],
      ['update', 2],
    ]);
    const [first, second] = mine();
    expect(second.id).toBe(first.id + 1);
    expect(first).toMatchObject({ actor: 'default', usageTypes: [ut] });
    expect(second.changes[0]).toMatchObject({ configId: created.id, config: renamed });
    // The frame's id is the event's id (what EventSource sends back as Last-Event-ID).
    const ids = stream.frames.filter((f) => f.event === 'change').map((f) => Number(f.id));
    expect(ids.slice(-2)).toEqual([first.id, second.id]);
  });

  it('an event is sent only once its change is visible to readers', async () => {
    const stream = await open();
    const ut = unique('ev-visible');
    const seen: boolean[] = [];
    const check = stream.until(() => stream.changes.length >= 5, 10_000);
    void (async () => {
      let handled = 0;
      while (handled < 5) {
        await stream.until(() => stream.changes.length > handled, 10_000);
        const event = stream.changes[handled++];
        const id = event.changes[0].configId;
        const res = await api.http().get(`${API}/model-configs/${id}`);
        // Later writes may have landed too: at least this event's version.
        seen.push(res.status === 200 && res.body.version >= event.changes[0].version);
      }
    })();
    const config = await api.create(configBody(ut, 1));
    for (let i = 0; i < 4; i++) await api.patch(config.id, { modelName: `n${i}` });
    await check;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen).toEqual([true, true, true, true, true]);
  });

  it('a usage type stream carries only its changes, moves included', async () => {
    const [mine, other] = [unique('ev-mine'), unique('ev-other')];
    const stream = await open(`${API}/usage-types/${mine}/events`);
    const config = await api.create(configBody(mine, 1));
    await api.create(configBody(other, 2));
    await api.patch(config.id, { usageType: other });
    await stream.until(() => stream.changes.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stream.changes.map((e) => e.operation)).toEqual(['create', 'update']);
    expect(stream.changes[1].usageTypes.sort()).toEqual([mine, other].sort());
  });

  it('resumes after Last-Event-ID (or ?since=) with no gap and no duplicate', async () => {
    const ut = unique('ev-resume');
    const live = await open();
    const config = await api.create(configBody(ut, 1));
    for (let i = 0; i < 3; i++) await api.patch(config.id, { modelName: `r${i}` });
    await live.until(() => live.changes.length >= 4);
    const [a, , , d] = live.changes;
    const resumed = await open(`${API}/events`, { 'last-event-id': String(a.id) });
    expect(resumed.changes.map((e) => e.id)).toEqual([a.id + 1, a.id + 2, d.id]);
    const bySince = await open(`${API}/events?since=${a.id + 1}`);
    expect(bySince.changes.map((e) => e.id)).toEqual([a.id + 2, d.id]);
    const fromHead = await open(`${API}/events`, { 'last-event-id': String(d.id) });
    expect(fromHead.changes).toEqual([]);
    expect(JSON.parse(fromHead.frames.at(-1)?.data ?? '{}')).toEqual({ lastEventId: d.id });
    // An id past the newest (a database restored from a backup) asks the client to start over.
    const ahead = await open(`${API}/events`, { 'last-event-id': String(d.id + 1000) });
    expect(ahead.frames.map((f) => f.event)).toContain('reset');
    expectError(
      await api.http().get(`${API}/events`).set('last-event-id', 'abc'),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('the event log answers the same events as JSON', async () => {
    const ut = unique('ev-log');
    const stream = await open();
    await api.create(configBody(ut, 1));
    await stream.until(() => stream.changes.length >= 1);
    const id = stream.changes[0].id;
    const page = ok<{ events: { id: number }[]; lastEventId: number; reset: boolean }>(
      await api.http().get(`${API}/events/log?since=${id - 1}&limit=5`),
    );
    expect(page.reset).toBe(false);
    expect(page.events[0]).toEqual(stream.changes[0]);
    const ofType = ok<{ events: { id: number }[] }>(
      await api.http().get(`${API}/events/log?since=0&usageType=${ut}`),
    );
    expect(ofType.events.map((e) => e.id)).toEqual([id]);
  });

  it('counts open streams and events sent in /metrics', async () => {
    const stream = await open();
    await api.create(configBody(unique('ev-metrics'), 1));
    await stream.until(() => stream.changes.length >= 1);
    const text = (await api.http().get('/metrics')).text;
    expect(Number(/^event_streams_open (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^events_sent_total (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^# TYPE event_stream_clients_dropped_total counter/m);
  });

  it('a client whose missed events were pruned gets a reset', async () => {
    const stream = await open();
    await api.create(configBody(unique('ev-pruned'), 1));
    await stream.until(() => stream.changes.length >= 1);
    // Retention removes every event but the newest (HISTORY_RETENTION_DAYS, applied now).
    await testApp.app.get(ChangeLog).prune(new Date(Date.now() + 86_400_000));
    const behind = await open(`${API}/events`, { 'last-event-id': '0' });
    const reset = behind.frames.find((frame) => frame.event === 'reset');
    expect(reset?.id).toBe(String(stream.changes[0].id));
    expect(behind.changes).toEqual([]);
    const page = ok<{ reset: boolean }>(await api.http().get(`${API}/events/log?since=0`));
    expect(page.reset).toBe(true);
  });

  it('recovers, at the next start, events a crash kept from being written', async () => {
    const ut = unique('ev-crash');
    const config = await api.create(configBody(ut, 1));
    const changed = await api.patch(config.id, { modelName: 'before the crash' });
    const db = testApp.app.get(DuckDbClient);
    // Events are appended right after the answers; wait for the patch's.
    await testApp.app.get(ChangeLog).flushed();
    // As if the process died between the commit and the event's append.
    const last = await db.queryOne<{ id: number }>('SELECT max(id) AS id FROM model_config_events');
    await db.execute('DELETE FROM model_config_events WHERE id = $1', [Number(last?.id)]);
    const dbPath = testApp.dbPath;
    await testApp.app.close();
    const again = await startTestApp({ DUCKDB_PATH: dbPath, API_KEY: KEY });
    try {
      const stream = await TestStream.open(`${again.url}${API}/events`, {
        'last-event-id': String(Number(last?.id) - 1),
      });
      expect(stream.changes).toHaveLength(1);
      expect(stream.changes[0]).toMatchObject({ id: Number(last?.id), operation: 'update' });
      expect(stream.changes[0].changes[0]).toMatchObject({ configId: changed.id, version: 2 });
      stream.close();
    } finally {
      await again.close();
    }
  });
});

describe('change stream limits', () => {
  it('needs the key when EVENTS_REQUIRE_KEY is set', async () => {
    const app = await startTestApp({ API_KEY: KEY, EVENTS_REQUIRE_KEY: 'true' });
    try {
      expectError(
        await new ApiClient(app.url).http().get(`${API}/events/log`),
        401,
        'UNAUTHORIZED',
      );
      const refused = await TestStream.open(`${app.url}${API}/events`);
      expect(refused.status).toBe(401);
      const stream = await TestStream.open(`${app.url}${API}/events`, { 'x-api-key': KEY });
      expect(stream.status).toBe(200);
      stream.close();
    } finally {
      await app.close();
    }
  });

  it('refuses streams past EVENTS_MAX_CLIENTS with 503 STREAM_LIMIT', async () => {
    const app = await startTestApp({ EVENTS_MAX_CLIENTS: '2' });
    const opened: TestStream[] = [];
    try {
      for (let i = 0; i < 2; i++) opened.push(await TestStream.open(`${app.url}${API}/events`));
      const res = await fetch(`${app.url}${API}/events`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { code: string }).code).toBe('STREAM_LIMIT');
    } finally {
      for (const stream of opened) stream.close();
      await app.close();
    }
  });
});

export type { ModelConfig };
