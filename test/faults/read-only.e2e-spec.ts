import { join } from 'node:path';
import { DuckDbDatabase } from '@lib/duckdb';
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
  setImmutable,
  show,
  startAppAt,
  waitFor,
} from './support/faults';

jest.setTimeout(60_000);

const API = '/api/v1';
const ANSWER_MS = 5_000;
const RECOVERY_MS = 15_000;

/**
 * The database file made read-only under a running app. As root, permission bits (chmod 0444) do
 * not stop anything and a read-only remount of a file system with files open for writing fails
 * (EBUSY), so the test makes the directory, the database file and its WAL immutable
 * (`chattr +i`, on a tmpfs of its own): even root can then not open them for writing.
 *
 * DuckDB keeps its WAL open between commits, so such a change takes effect when DuckDB next opens
 * or removes a file: at the first commit after a checkpoint (the WAL is then recreated), or at the
 * checkpoint itself (which must remove the WAL and then invalidates the database).
 */
describeWithTmpfs(
  'fault: the database file made read-only under a running app',
  () => {
    let fs: Tmpfs;
    let app: AppAt | undefined;
    let dbPath: string;
    let files: string[];
    const acked = new Map<string, ModelConfig>();
    const usageType = unique('read-only');
    const figures: Record<string, unknown> = {};
    let priority = 0;

    const env = { BREAKER_RESET_TIMEOUT_MS: '1000', DUCKDB_POOL_MAX: '2' };

    const create = async (): Promise<Answer> => {
      priority += 1;
      const body = configBody(usageType, priority, { modelId: `m-${priority}` });
      const res = await send(app!.url, 'POST', `${API}/model-configs`, body, ANSWER_MS);
      if (res.status === 201) acked.set((res.json as ModelConfig).id, res.json as ModelConfig);
      return res;
    };

    const listAll = () => listUsageType(app!.url, usageType);

    const expectAllAckedReadable = async (): Promise<void> => {
      const { res, items } = await listAll();
      expect(show(res)).toMatch(/^200 /);
      expect(items.map((c) => c.id).sort()).toEqual([...acked.keys()].sort());
      for (const item of items) expect(item).toEqual(acked.get(item.id));
    };

    const expectRefusal = (res: Answer): void => {
      expectNoLeak(res.text);
      expectErrorBody(503, 'DATABASE_UNAVAILABLE', res);
      expect(res.retryAfter).toMatch(/^[1-9]\d*$/);
    };

    const databaseCircuit = async (): Promise<string | undefined> => {
      const res = await send(app!.url, 'GET', '/health/circuits');
      return (res.json as { circuits: { name: string; state: string }[] }).circuits.find(
        (c) => c.name === 'database',
      )?.state;
    };

    const readOnly = (on: boolean) => setImmutable(on ? files : [...files].reverse(), on);

    beforeAll(async () => {
      fs = mountTmpfs(16);
      const dir = join(fs.dir, 'data');
      dbPath = join(dir, 'model-configs.duckdb');
      files = [dbPath, `${dbPath}.wal`, dir];
      app = await startAppAt(dbPath, env);
    });

    afterAll(async () => {
      try {
        if (files) readOnly(false);
        await app?.close();
      } finally {
        fs?.unmount();
        process.stdout.write(`read-only figures: ${JSON.stringify(figures)}\n`);
      }
    });

    it('acknowledges writes while the files are writable', async () => {
      for (let i = 0; i < 5; i++) expect(show(await create())).toMatch(/^201 /);
      await expectAllAckedReadable();
    });

    it('refuses writes with 503 DATABASE_UNAVAILABLE once the WAL must be reopened, and keeps serving reads', async () => {
      // A checkpoint (automatic in production) folds the WAL into the file and removes it.
      expect(await runCommand(app!.pool, 'CHECKPOINT')).toBeUndefined();
      readOnly(true);
      const answers: Answer[] = [];
      for (let i = 0; i < 8; i++) answers.push(await create());
      const some = [...acked.values()][0];
      answers.push(
        await send(app!.url, 'PATCH', `${API}/model-configs/${some.id}`, { enabled: false }),
        await send(app!.url, 'DELETE', `${API}/model-configs/${some.id}`),
      );
      figures.writeStatuses = answers.map((a) => a.status);
      figures.writeMaxMs = Math.round(Math.max(...answers.map((a) => a.ms)));
      for (const res of answers) {
        expectRefusal(res);
        expect(res.ms).toBeLessThan(ANSWER_MS);
      }
      expect(JSON.stringify(answers[0].json)).toMatch(/cannot store writes/);
      // Reads: the list, by id, the active model; the service stays ready, the circuit closed.
      for (let i = 0; i < 3; i++) await expectAllAckedReadable();
      expect((await send(app!.url, 'GET', `${API}/model-configs/${some.id}`)).json).toEqual(some);
      expect(show(await send(app!.url, 'GET', `${API}/usage-types/${usageType}/active`))).toMatch(
        /^200 /,
      );
      expect(show(await send(app!.url, 'GET', '/health'))).toMatch(/^200 /);
      expect(await databaseCircuit()).toBe('closed');
    });

    it('accepts writes again once the files are writable, without a restart', async () => {
      readOnly(false);
      const after = await waitFor(async () => {
        const res = await create();
        if (res.status !== 201) expectRefusal(res);
        return res.status === 201;
      }, RECOVERY_MS);
      figures.writesBackAfterMs = after;
      expect(after).toBeDefined();
      await expectAllAckedReadable();
    });

    it('with the WAL still open: commits land, the checkpoint invalidates the database, and it recovers once writable', async () => {
      // The WAL is open now (the last commit recreated it).
      readOnly(true);
      const landed: Answer[] = [];
      for (let i = 0; i < 3; i++) landed.push(await create());
      figures.statusesWithWalOpen = landed.map((a) => a.status);
      // Whatever the answer, it is a clean one; an acknowledged write must survive (checked below).
      for (const res of landed) if (res.status !== 201) expectRefusal(res);

      const checkpoint = await runCommand(app!.pool, 'CHECKPOINT');
      figures.checkpointWhileReadOnly = checkpoint;
      expect(checkpoint).toMatch(/invalidated|FATAL/);

      // Until the files are writable the database cannot be reopened: clean 503s, never a 500.
      const during: Answer[] = [];
      for (let i = 0; i < 5; i++) {
        during.push((await listAll()).res, await create());
      }
      figures.whileInvalidatedMaxMs = Math.round(Math.max(...during.map((a) => a.ms)));
      figures.statusesWhileInvalidated = [...new Set(during.map((a) => a.status))];
      for (const res of during) {
        expectNoLeak(res.text);
        expect([200, 201, 503]).toContain(res.status);
        expect(res.ms).toBeLessThan(ANSWER_MS);
        if (res.status === 503) expectErrorBody(503, 'DATABASE_UNAVAILABLE', res);
      }

      readOnly(false);
      const back = await waitFor(async () => {
        const { res } = await listAll();
        expectNoLeak(res.text);
        expect([200, 503]).toContain(res.status);
        return res.status === 200;
      }, RECOVERY_MS);
      figures.readsBackAfterWritableMs = back;
      expect(back).toBeDefined();
      expect(app!.app.get(DuckDbDatabase).reopened).toBeGreaterThanOrEqual(1);
      const writes = await waitFor(async () => (await create()).status === 201, RECOVERY_MS);
      figures.writesBackAfterWritableMs = writes;
      expect(writes).toBeDefined();
      await expectAllAckedReadable();
    });

    it('keeps every acknowledged write across a restart', async () => {
      await app!.close();
      app = await startAppAt(dbPath, env);
      await expectAllAckedReadable();
      figures.acknowledged = acked.size;
    });
  },
  { immutable: true },
);
