import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ExitInfo,
  type HttpResult,
  type ServerProcess,
  cleanupServers,
  delay,
  listAllConfigs,
  makeTempDir,
  request,
  startServer,
  stopServer,
  waitForExit,
} from './server-process';
import type { ModelConfig } from '../support/http';

/**
 * Graceful shutdown (API.md §3): on SIGTERM or SIGINT the server stops accepting connections, lets
 * requests in flight finish, checkpoints and closes DuckDB, and exits 0 within 15 s.
 */

const BULKS = 3;
const BULK_SIZE = 1000;
const SINGLES = 20;
const EXIT_DEADLINE_MS = 15_000;

interface PoolStats {
  acquired: number;
  inUse: number;
}

/** The outcome of a request: an answer, or the connection error that replaced it. */
type Outcome = { kind: 'response'; res: HttpResult } | { kind: 'error'; error: string };

function settle(promise: Promise<HttpResult>): Promise<Outcome> {
  return promise.then(
    (res): Outcome => ({ kind: 'response', res }),
    (error: unknown): Outcome => ({ kind: 'error', error: String(error) }),
  );
}

function describeOutcome(outcome: Outcome): string {
  return outcome.kind === 'error'
    ? `connection error (${outcome.error})`
    : `${outcome.res.status} ${outcome.res.text.slice(0, 200)}`;
}

async function poolStats(server: ServerProcess): Promise<PoolStats> {
  const res = await request(server.baseUrl, 'GET', '/health/pool');
  return res.body as PoolStats;
}

function bulkItems(usageType: string): Record<string, unknown>[] {
  return Array.from({ length: BULK_SIZE }, (_, i) => ({
    usageType,
    priority: i + 1,
    modelId: `${usageType}-model-${i + 1}`,
    modelName: `Bulk ${i + 1}`,
    provider: 'ollama',
    parameters: { index: i },
  }));
}

describe('graceful shutdown on SIGTERM (API.md §3)', () => {
  jest.setTimeout(60_000);

  const dbPath = join(makeTempDir(), 'shutdown.duckdb');
  const singles: ModelConfig[] = [];
  const bulkTypes = Array.from({ length: BULKS }, (_, i) => `shutdown-bulk-${i}`);
  let bulkOutcomes: Outcome[] = [];
  let lateOutcome: Outcome;
  let pendingAtSignal = 0;
  let exit: ExitInfo | undefined;
  let exitMs = 0;
  let first: ServerProcess;
  let walBytesAfterExit = -1;
  let stored: ModelConfig[] = [];

  beforeAll(async () => {
    first = await startServer({ dbPath });
    for (let i = 1; i <= SINGLES; i++) {
      const res = await request(first.baseUrl, 'POST', '/api/v1/model-configs', {
        usageType: 'shutdown-single',
        priority: i,
        modelId: `single-${i}`,
        modelName: `Single ${i}`,
        provider: 'openrouter',
      });
      if (res.status !== 201) throw new Error(`setup write failed: ${res.status} ${res.text}`);
      singles.push(res.body as ModelConfig);
    }

    const before = await poolStats(first);
    let answered = 0;
    const bulks = bulkTypes.map((usageType) =>
      settle(
        request(first.baseUrl, 'POST', '/api/v1/model-configs/bulk', {
          items: bulkItems(usageType),
        }),
      ).then((outcome) => {
        answered++;
        return outcome;
      }),
    );
    // SIGTERM once every bulk has taken its transaction's connection: each is then in flight.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && answered < BULKS) {
      const stats = await poolStats(first);
      if (stats.acquired - before.acquired >= BULKS) break;
      await delay(10);
    }
    pendingAtSignal = BULKS - answered;
    const signalledAt = Date.now();
    first.child.kill('SIGTERM');
    // A request right after the signal: refused or served, never half-done.
    const late = settle(
      request(
        first.baseUrl,
        'POST',
        '/api/v1/model-configs',
        {
          usageType: 'shutdown-late',
          priority: 1,
          modelId: 'late',
          modelName: 'Late',
          provider: 'openrouter',
        },
        { timeoutMs: 20_000 },
      ),
    );
    exit = await waitForExit(first, 20_000);
    exitMs = Date.now() - signalledAt;
    // Before anything else opens the file (the restart below may write: it recovers events).
    walBytesAfterExit = existsSync(`${dbPath}.wal`) ? statSync(`${dbPath}.wal`).size : 0;
    lateOutcome = await late;
    bulkOutcomes = await Promise.all(bulks);

    const second = await startServer({ dbPath });
    stored = await listAllConfigs(second.baseUrl);
    await stopServer(second, 'SIGKILL');
  });

  afterAll(async () => {
    await cleanupServers();
  });

  it('lets the requests in flight at SIGTERM finish with 201 and every item', () => {
    expect(pendingAtSignal).toBeGreaterThan(0);
    const answers = bulkOutcomes.map((outcome) =>
      outcome.kind === 'response' && outcome.res.status === 201
        ? (outcome.res.body as { created: number }).created
        : describeOutcome(outcome),
    );
    expect(answers).toEqual(bulkTypes.map(() => BULK_SIZE));
    process.stdout.write(
      `SIGTERM with ${pendingAtSignal} of ${BULKS} bulk creates (${BULK_SIZE} items each) in flight; ` +
        `answers: ${answers.join(', ')}; late request: ${describeOutcome(lateOutcome)}; ` +
        `exit ${JSON.stringify(exit)} after ${exitMs} ms\n`,
    );
  });

  it('exits with code 0 within 15 s', () => {
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(EXIT_DEADLINE_MS);
  });

  it('checkpoints and closes DuckDB (no WAL left behind)', () => {
    expect(walBytesAfterExit).toBe(0);
    expect(first.stdout()).toContain('Closed shutdown.duckdb');
  });

  it('finds every acknowledged write after a restart, and nothing half-written', () => {
    const byId = new Map(stored.map((config) => [config.id, config]));
    for (const single of singles) expect(byId.get(single.id)).toEqual(single);
    bulkTypes.forEach((usageType, i) => {
      const outcome = bulkOutcomes[i];
      const rows = stored.filter((config) => config.usageType === usageType);
      if (outcome.kind === 'response' && outcome.res.status === 201) {
        const items = (outcome.res.body as { items: ModelConfig[] }).items;
        expect(rows.length).toBe(BULK_SIZE);
        for (const item of items) expect(byId.get(item.id)).toEqual(item);
      } else {
        // All or nothing: a bulk that was not acknowledged left no row.
        expect(rows.length).toBe(0);
      }
    });
    const late = stored.filter((config) => config.usageType === 'shutdown-late');
    if (lateOutcome.kind === 'response' && lateOutcome.res.status === 201) {
      expect(late).toEqual([lateOutcome.res.body]);
    } else {
      expect(late).toEqual([]);
      if (lateOutcome.kind === 'response') expect(lateOutcome.res.status).toBe(503);
    }
  });
});

describe('graceful shutdown on SIGINT (API.md §3)', () => {
  jest.setTimeout(60_000);

  afterAll(async () => {
    await cleanupServers();
  });

  it('exits with code 0 within 15 s', async () => {
    const server = await startServer({ dbPath: join(makeTempDir(), 'sigint.duckdb') });
    const started = Date.now();
    const exit = await stopServer(server, 'SIGINT', 20_000);
    expect({ exit, withinDeadline: Date.now() - started < EXIT_DEADLINE_MS }).toEqual({
      exit: { code: 0, signal: null },
      withinDeadline: true,
    });
  });
});
