import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ModelConfig, configBody, expectNoLeak, unique } from '../support/http';
import { sleep } from '../support/testing';
import { type AppAt, type Answer, runCommand, send, show, startAppAt } from './support/faults';

jest.setTimeout(60_000);

const API = '/api/v1';
const WRITERS = 8;
const RUN_MS = 8_000;
/** Pause between two checkpoints. */
const CHECKPOINT_EVERY_MS = 20;

interface Ledger {
  usageType: string;
  chainUsageType: string;
  configs: Map<string, ModelConfig>;
  /** Model ids of the last acknowledged chain. */
  chain?: string[];
}

/**
 * Checkpoints during writes: `CHECKPOINT` and `FORCE CHECKPOINT` run back to back through the
 * application's own pool (what DuckDB's automatic checkpoint does when the WAL crosses
 * `wal_autocheckpoint`, and what shutdown does) while 8 clients create, update and replace chains
 * over HTTP. No write may fail, and every acknowledged write is read back — then again after a
 * restart, from the checkpointed file.
 */
describe('fault: checkpoints during concurrent writes', () => {
  let dir: string;
  let dbPath: string;
  let app: AppAt | undefined;
  const ledgers: Ledger[] = [];
  const failures: string[] = [];
  const checkpoints = {
    plain: { ok: 0, failed: 0 },
    forced: { ok: 0, failed: 0 },
    errors: new Set<string>(),
  };
  const figures: Record<string, unknown> = {};
  let writes = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'faults-checkpoint-'));
    dbPath = join(dir, 'model-configs.duckdb');
    app = await startAppAt(dbPath);
  });

  afterAll(async () => {
    try {
      await app?.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      process.stdout.write(`checkpoint figures: ${JSON.stringify(figures)}\n`);
    }
  });

  const record = (what: string, res: Answer, expected: number): boolean => {
    if (res.status === expected) {
      writes++;
      return true;
    }
    failures.push(`${what}: ${show(res)}`);
    // A leak is a failure of its own (collected, not thrown inside a client loop).
    try {
      if (res.status >= 400) expectNoLeak(res.text);
    } catch (error) {
      failures.push(String(error).slice(0, 300));
    }
    return false;
  };

  const writer = async (ledger: Ledger, shouldStop: () => boolean): Promise<void> => {
    const base = app!.url;
    for (let op = 1; !shouldStop(); op++) {
      if (op % 7 === 0) {
        const items = [0, 1, 2].map((i) => ({
          modelId: `chain-${op}-${i}`,
          modelName: `Chain ${op}.${i}`,
          provider: 'checkpoint',
        }));
        const res = await send(base, 'PUT', `${API}/usage-types/${ledger.chainUsageType}/chain`, {
          items,
        });
        if (record('PUT chain', res, 200)) ledger.chain = items.map((item) => item.modelId);
      } else if (op % 3 === 0 && ledger.configs.size > 0) {
        const ids = [...ledger.configs.keys()];
        const id = ids[op % ids.length];
        const res = await send(base, 'PATCH', `${API}/model-configs/${id}`, {
          modelName: `Patched ${op}`,
          parameters: { op, pad: 'x'.repeat(op % 500) },
        });
        if (record('PATCH', res, 200)) ledger.configs.set(id, res.json as ModelConfig);
      } else {
        const res = await send(
          base,
          'POST',
          `${API}/model-configs`,
          configBody(ledger.usageType, op, { modelId: `m-${op}` }),
        );
        if (record('POST', res, 201)) {
          const created = res.json as ModelConfig;
          ledger.configs.set(created.id, created);
        }
      }
    }
  };

  const expectAllAckedReadable = async (): Promise<void> => {
    for (const ledger of ledgers) {
      const res = await send(
        app!.url,
        'GET',
        `${API}/model-configs?usageType=${ledger.usageType}&limit=1000`,
      );
      expect(show(res)).toMatch(/^200 /);
      const items = (res.json as { items: ModelConfig[] }).items;
      expect(items.length).toBe(ledger.configs.size);
      for (const item of items) expect(item).toEqual(ledger.configs.get(item.id));
      for (const config of [...ledger.configs.values()].slice(0, 5)) {
        expect((await send(app!.url, 'GET', `${API}/model-configs/${config.id}`)).json).toEqual(
          config,
        );
      }
      if (ledger.chain) {
        const chain = await send(
          app!.url,
          'GET',
          `${API}/usage-types/${ledger.chainUsageType}/fallback-chain`,
        );
        expect(chain.json).toEqual({ usageType: ledger.chainUsageType, modelIds: ledger.chain });
      }
    }
  };

  it('loses no acknowledged write and fails none while CHECKPOINT / FORCE CHECKPOINT run back to back', async () => {
    for (let w = 0; w < WRITERS; w++) {
      ledgers.push({
        usageType: unique(`ckpt-w${w}`),
        chainUsageType: unique(`ckpt-chain-w${w}`),
        configs: new Map(),
      });
    }
    let running = true;
    const stop = () => !running;
    const checkpointer = async () => {
      for (let i = 0; running; i++) {
        const forced = i % 2 === 1;
        const error = await runCommand(app!.pool, forced ? 'FORCE CHECKPOINT' : 'CHECKPOINT');
        const tally = forced ? checkpoints.forced : checkpoints.plain;
        if (error === undefined) tally.ok++;
        else {
          tally.failed++;
          checkpoints.errors.add(error.slice(0, 160));
        }
        await sleep(CHECKPOINT_EVERY_MS);
      }
    };
    const loops = [...ledgers.map((ledger) => writer(ledger, stop)), checkpointer()];
    // At least RUN_MS, and on until enough checkpoints of each kind have run (a loaded machine
    // runs fewer per second), within a hard limit.
    const started = Date.now();
    const enough = () =>
      checkpoints.forced.ok + checkpoints.forced.failed > 20 &&
      checkpoints.plain.ok + checkpoints.plain.failed > 20 &&
      writes > 100;
    while (Date.now() - started < RUN_MS || (!enough() && Date.now() - started < 4 * RUN_MS)) {
      await sleep(100);
    }
    running = false;
    await Promise.all(loops);

    figures.writes = writes;
    figures.checkpoints = { ...checkpoints, errors: [...checkpoints.errors] };
    figures.failures = failures.slice(0, 10);
    expect(failures).toEqual([]);
    expect(writes).toBeGreaterThan(100);
    // FORCE CHECKPOINT waits for the writers' transactions and always succeeds (1.5.6); a plain
    // CHECKPOINT that meets one refuses ("Cannot CHECKPOINT: there are other write transactions
    // active"), which shows that they overlapped.
    expect(checkpoints.forced.ok).toBeGreaterThan(20);
    expect(checkpoints.forced.failed).toBe(0);
    expect(checkpoints.plain.ok + checkpoints.plain.failed).toBeGreaterThan(20);
    await expectAllAckedReadable();
    // The service is healthy afterwards.
    expect(show(await send(app!.url, 'GET', '/health'))).toMatch(/^200 /);
  });

  it('keeps every acknowledged write across a restart (read from the checkpointed file)', async () => {
    await app!.close();
    app = await startAppAt(dbPath);
    await expectAllAckedReadable();
  });
});
