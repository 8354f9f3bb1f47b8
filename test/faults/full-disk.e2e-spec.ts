import { join } from 'node:path';
import { DuckDbDatabase } from '@lib/duckdb';
import { randomUUID } from 'node:crypto';
import {
  type ModelConfig,
  configBody,
  expectErrorBody,
  expectNoLeak,
  unique,
} from '../support/http';
import {
  type AppAt,
  type Answer,
  listUsageType,
  type Tmpfs,
  describeWithTmpfs,
  mountTmpfs,
  runCommand,
  send,
  show,
  startAppAt,
  waitFor,
} from './support/faults';
import { sleep } from '../support/testing';

jest.setTimeout(60_000);

const API = '/api/v1';
/** Small enough to fill in a moment, big enough for the database file and its WAL. */
const TMPFS_MB = 8;
/** A write must be answered (2xx or 503) within this, never hang. */
const ANSWER_MS = 5_000;
const RECOVERY_MS = 15_000;

/**
 * The database directory on a full file system (a real tmpfs, filled by a real file): writes are
 * refused with 503 DATABASE_UNAVAILABLE (never 500, never a hang, nothing half-stored), reads keep
 * working, every acknowledged write survives, including a checkpoint that DuckDB could not write
 * (which invalidates its database: the pool reopens it), and writes work again once space is freed
 * — without a restart; after a restart too.
 */
describeWithTmpfs('fault: the database directory on a full file system', () => {
  let fs: Tmpfs;
  let app: AppAt | undefined;
  let dbPath: string;
  const acked = new Map<string, ModelConfig>();
  const refused: { usageType: string; priority: number }[] = [];
  const usageType = unique('full-disk');
  const figures: Record<string, unknown> = {};
  let priority = 0;

  const env = {
    // A trial call 1 s after the circuit opened (30 s in production) keeps the test short.
    BREAKER_RESET_TIMEOUT_MS: '1000',
    DUCKDB_POOL_MAX: '2',
  };

  const create = async (): Promise<Answer> => {
    priority += 1;
    // Each commit appends more than a page to the WAL, so none fits in the slack of its last page.
    const body = configBody(usageType, priority, {
      modelId: `m-${priority}`,
      parameters: { pad: 'p'.repeat(6_000) },
    });
    const res = await send(app!.url, 'POST', `${API}/model-configs`, body, ANSWER_MS);
    if (res.status === 201) acked.set((res.json as ModelConfig).id, res.json as ModelConfig);
    else refused.push({ usageType, priority });
    return res;
  };

  const listAll = () => listUsageType(app!.url, usageType);

  const expectAllAckedReadable = async (): Promise<void> => {
    const { res, items } = await listAll();
    expect(show(res)).toMatch(/^200 /);
    const byId = new Map(items.map((item) => [item.id, item]));
    for (const [id, config] of acked) expect(byId.get(id)).toEqual(config);
    // Nothing that was refused was stored.
    for (const slot of refused) {
      const acknowledged = [...acked.values()].some((c) => c.priority === slot.priority);
      if (!acknowledged) expect(items.some((c) => c.priority === slot.priority)).toBe(false);
    }
    expect(items.length).toBe(acked.size);
  };

  const expectRefusal = (res: Answer): void => {
    expectNoLeak(res.text);
    expect(res.status).not.toBe(500);
    expectErrorBody(503, 'DATABASE_UNAVAILABLE', res);
    expect(res.retryAfter).toMatch(/^[1-9]\d*$/);
  };

  beforeAll(async () => {
    fs = mountTmpfs(TMPFS_MB);
    dbPath = join(fs.dir, 'data', 'model-configs.duckdb');
    app = await startAppAt(dbPath, env);
  });

  afterAll(async () => {
    try {
      await app?.close();
    } finally {
      fs?.unmount();
      process.stdout.write(`full-disk figures: ${JSON.stringify(figures)}\n`);
    }
  });

  it('acknowledges writes while there is space', async () => {
    for (let i = 0; i < 10; i++) expect(show(await create())).toMatch(/^201 /);
    await expectAllAckedReadable();
  });

  it('refuses writes with 503 DATABASE_UNAVAILABLE on a full disk, at once, storing nothing', async () => {
    figures.fillerBytes = fs.fill();
    figures.availableAfterFill = fs.available();
    const answers: Answer[] = [];
    for (let i = 0; i < 12; i++) answers.push(await create());
    // Other kinds of write: update, chain replacement, upsert by slot.
    const some = [...acked.values()][0];
    answers.push(
      await send(app!.url, 'PATCH', `${API}/model-configs/${some.id}`, {
        parameters: { pad: 'q'.repeat(8_000) },
      }),
      await send(app!.url, 'PUT', `${API}/usage-types/${unique('full-chain')}/chain`, {
        items: Array.from({ length: 20 }, (_, i) => ({
          modelId: `chain-${i}`,
          modelName: 'y'.repeat(250),
          provider: 'p',
        })),
      }),
    );
    figures.writeStatuses = answers.map((a) => a.status);
    figures.writeMaxMs = Math.round(Math.max(...answers.map((a) => a.ms)));
    const refusals = answers.filter((a) => a.status !== 201 && a.status !== 200);
    for (const res of answers) expectRefusal(res);
    for (const res of answers) expect(res.ms).toBeLessThan(ANSWER_MS);
    expect(JSON.stringify(refusals[0].json)).toMatch(/cannot store writes/);
  });

  it('keeps serving reads (and stays ready, with the database circuit closed) while the disk is full', async () => {
    for (let i = 0; i < 5; i++) await expectAllAckedReadable();
    const some = [...acked.values()][0];
    const byId = await send(app!.url, 'GET', `${API}/model-configs/${some.id}`);
    expect(byId.json).toEqual(some);
    const missing = await send(app!.url, 'GET', `${API}/model-configs/${randomUUID()}`);
    expect(missing.status).toBe(404);
    const active = await send(app!.url, 'GET', `${API}/usage-types/${usageType}/active`);
    expect(show(active)).toMatch(/^200 /);
    const health = await send(app!.url, 'GET', '/health');
    expect(show(health)).toMatch(/^200 /);
    const circuits = await send(app!.url, 'GET', '/health/circuits');
    const database = (
      circuits.json as { circuits: { name: string; state: string }[] }
    ).circuits.find((c) => c.name === 'database');
    expect(database?.state).toBe('closed');
  });

  it('keeps every answer clean when the disk fills and empties under concurrent writes', async () => {
    fs.free();
    let running = true;
    let phase: 'before' | 'full' | 'freed' = 'before';
    const statuses: Record<string, number[]> = { before: [], full: [], freed: [] };
    const problems: string[] = [];
    const writer = async () => {
      while (running) {
        const sentIn = phase;
        const res = await create();
        statuses[sentIn].push(res.status);
        try {
          if (res.status !== 201) expectRefusal(res);
          expect(res.ms).toBeLessThan(ANSWER_MS);
        } catch (error) {
          problems.push(String(error).slice(0, 300));
        }
      }
    };
    const writers = Array.from({ length: 6 }, () => writer());
    await sleep(500);
    phase = 'full';
    fs.fill();
    // A second full, and on until a few refusals arrived (a loaded machine answers fewer).
    const fullSince = Date.now();
    while (
      Date.now() - fullSince < 1_000 ||
      (statuses.full.filter((s) => s === 503).length <= 5 && Date.now() - fullSince < 8_000)
    ) {
      await sleep(100);
    }
    fs.free();
    phase = 'freed';
    await sleep(700);
    running = false;
    await Promise.all(writers);
    const count = (list: number[], status: number) => list.filter((s) => s === status).length;
    figures.concurrent = Object.fromEntries(
      Object.entries(statuses).map(([p, list]) => [
        p,
        { 201: count(list, 201), 503: count(list, 503) },
      ]),
    );
    expect(problems).toEqual([]);
    expect(count(statuses.before, 201)).toBeGreaterThan(5);
    expect(count(statuses.full, 503)).toBeGreaterThan(5);
    // Once space is back, writes are acknowledged again.
    expect(statuses.freed[statuses.freed.length - 1]).toBe(201);
    expect(count(statuses.freed, 201)).toBeGreaterThan(0);
    await expectAllAckedReadable();
    // Full again for the checkpoint below.
    fs.fill();
  });

  it('survives a checkpoint that cannot be written (DuckDB invalidates its database): the pool reopens it', async () => {
    // What DuckDB's automatic checkpoint (WAL past wal_autocheckpoint) does at a bad moment.
    const error = await runCommand(app!.pool, 'CHECKPOINT');
    figures.checkpointOnFullDisk = error;
    const during: Answer[] = [];
    expect(error).toMatch(/invalidated|FATAL/);
    const readable = await waitFor(async () => {
      const { res } = await listAll();
      during.push(res);
      return res.status === 200;
    }, RECOVERY_MS);
    figures.readsBackAfterMs = readable;
    figures.statusesUntilReadsBack = [...new Set(during.map((a) => a.status))];
    for (const res of during) {
      expectNoLeak(res.text);
      expect([200, 503]).toContain(res.status);
    }
    expect(readable).toBeDefined();
    // The instance was replaced (a reopen, not a restart of the process).
    expect(app!.app.get(DuckDbDatabase).reopened).toBe(1);
    await expectAllAckedReadable();
    // Still full: writes are still refused, cleanly.
    const write = await create();
    figures.writeAfterReopenOnFullDisk = write.status;
    if (write.status !== 201) expectRefusal(write);
  });

  it('accepts writes again once space is freed, without a restart', async () => {
    fs.free();
    let last: Answer | undefined;
    const after = await waitFor(async () => {
      last = await create();
      if (last.status !== 201) expectRefusal(last);
      return last.status === 201;
    }, RECOVERY_MS);
    figures.writesBackAfterMs = after;
    expect(after).toBeDefined();
    for (let i = 0; i < 5; i++) expect(show(await create())).toMatch(/^201 /);
    await expectAllAckedReadable();
  });

  it('keeps every acknowledged write across a restart', async () => {
    await app!.close();
    app = await startAppAt(dbPath, env);
    await expectAllAckedReadable();
    figures.acknowledged = acked.size;
    figures.refused = refused.length;
  });
});
