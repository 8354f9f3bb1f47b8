import type { Response } from 'supertest';
import { ApiClient } from '../support/api';
import {
  API,
  type CreateBody,
  type ModelConfig,
  configBody,
  expectError,
  expectValidation,
  ok,
  unique,
} from '../support/http';
import { type TestApp, startTestApp } from '../support/test-app';

/** The transaction counters of `GET /health/database` (`details.database.transactions`). */
interface TransactionCounters {
  started: number;
  committed: number;
  rolledBack: number;
  retried: number;
  conflicts: number;
}

interface ChainItem {
  modelId: string;
  modelName: string;
  provider: string;
}

describe('transactions over HTTP (atomicity)', () => {
  let testApp: TestApp;
  let api: ApiClient;
  let countersAtStart: TransactionCounters;

  const transactionCounters = async (): Promise<TransactionCounters> => {
    const res = await api.http().get('/health/database');
    const body = ok<{ details: { database: { transactions: TransactionCounters } } }>(res);
    return body.details.database.transactions;
  };

  beforeAll(async () => {
    testApp = await startTestApp({ SEED_ON_EMPTY: 'false' });
    api = new ApiClient(testApp.url);
    countersAtStart = await transactionCounters();
  });

  afterAll(async () => {
    await testApp?.close();
  });

  describe('POST /model-configs/bulk is all or nothing', () => {
    it('stores nothing when one item is invalid (400)', async () => {
      const usageType = unique('bulk');
      const items: (CreateBody | Record<string, unknown>)[] = [
        configBody(usageType, 1),
        configBody(usageType, 2),
        { ...configBody(usageType, 3), priority: 0 },
      ];
      const res = await api.http().post(`${API}/model-configs/bulk`).send({ items });
      expectValidation(res, 'priority');
      await expect(api.ofUsageType(usageType)).resolves.toEqual([]);
    });

    it('stores nothing when a later item takes a slot an earlier one took (409 SLOT_TAKEN)', async () => {
      const usageType = unique('bulk');
      const items = [
        configBody(usageType, 1),
        configBody(usageType, 2),
        configBody(usageType, 3),
        configBody(usageType, 2, { modelId: 'duplicate-slot' }),
      ];
      const res = await api.http().post(`${API}/model-configs/bulk`).send({ items });
      expectError(res, 409, 'SLOT_TAKEN');
      await expect(api.ofUsageType(usageType)).resolves.toEqual([]);
    });

    it('stores nothing when an item takes a slot that already exists (409 SLOT_TAKEN)', async () => {
      const usageType = unique('bulk');
      const existing = await api.create(configBody(usageType, 5));
      const res = await api
        .http()
        .post(`${API}/model-configs/bulk`)
        .send({ items: [configBody(usageType, 1), configBody(usageType, 5)] });
      expectError(res, 409, 'SLOT_TAKEN');
      await expect(api.ofUsageType(usageType)).resolves.toEqual([existing]);
    });

    it('stores every item when all are valid (201)', async () => {
      const usageType = unique('bulk');
      const items = [configBody(usageType, 1), configBody(usageType, 2)];
      const body = ok<{ created: number; items: ModelConfig[] }>(
        await api.http().post(`${API}/model-configs/bulk`).send({ items }),
        201,
      );
      expect(body.created).toBe(2);
      await expect(api.ofUsageType(usageType)).resolves.toEqual(body.items);
    });
  });

  describe('PUT /usage-types/:usageType/chain under concurrency', () => {
    const chainOf = (request: number): ChainItem[] =>
      [1, 2, 3].map((link) => ({
        modelId: `req-${request}-link-${link}`,
        modelName: `Request ${request} link ${link}`,
        provider: 'chain-provider',
      }));

    it('leaves exactly one submitted chain, whole, at priorities 1..3 after 20 concurrent replacements', async () => {
      const usageType = unique('chain');
      // Start from an existing chain, as a replacement normally does.
      ok(
        await api
          .http()
          .put(`${API}/usage-types/${usageType}/chain`)
          .send({ items: chainOf(0) }),
      );
      const responses: Response[] = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          api
            .http()
            .put(`${API}/usage-types/${usageType}/chain`)
            .send({ items: chainOf(i + 1) }),
        ),
      );
      const split = { ok: 0, conflict: 0, other: [] as string[] };
      for (const res of responses) {
        if (res.status === 200) split.ok++;
        else if (
          res.status === 409 &&
          (res.body as { code?: string }).code === 'TRANSACTION_CONFLICT'
        )
          split.conflict++;
        else split.other.push(`${res.status} ${res.text.slice(0, 200)}`);
      }
      process.stdout.write(
        `[atomicity] 20 concurrent chain replacements: ${split.ok} × 200, ${split.conflict} × 409 TRANSACTION_CONFLICT\n`,
      );
      expect(split.other).toEqual([]);
      expect(split.ok).toBeGreaterThanOrEqual(1);

      const stored = await api.ofUsageType(usageType);
      expect(stored.map((config) => config.priority)).toEqual([1, 2, 3]);
      const winner = Number(/^req-(\d+)-link-1$/.exec(stored[0].modelId)?.[1]);
      expect(winner).toBeGreaterThanOrEqual(1);
      expect(
        stored.map(({ modelId, modelName, provider }) => ({ modelId, modelName, provider })),
      ).toEqual(chainOf(winner));
      // The stored chain is one that was answered 200, exactly as that response described it.
      const winning = responses.find(
        (res) =>
          res.status === 200 &&
          (res.body as { items: ModelConfig[] }).items[0].modelId === stored[0].modelId,
      );
      expect(winning).toBeDefined();
      expect((winning?.body as { items: ModelConfig[] }).items).toEqual(stored);
    });

    // App bug: replaceChain (apps/api/src/model-configs/model-configs.service.ts) does not rerun
    // when concurrent first replacements of a usage type race for the same empty slots: the later
    // COMMIT fails with a unique violation and the client gets 409 SLOT_TAKEN for a valid request.
    it('answers only 200 or 409 TRANSACTION_CONFLICT when 20 concurrent requests create the first chain', async () => {
      const usageType = unique('chain');
      const responses: Response[] = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          api
            .http()
            .put(`${API}/usage-types/${usageType}/chain`)
            .send({ items: chainOf(i + 1) }),
        ),
      );
      const stored = await api.ofUsageType(usageType);
      const winner = Number(/^req-(\d+)-link-1$/.exec(stored[0]?.modelId ?? '')?.[1]);
      expect(
        stored.map(({ modelId, modelName, provider }) => ({ modelId, modelName, provider })),
      ).toEqual(chainOf(winner));
      const unexpected = responses
        .map((res) => `${res.status} ${(res.body as { code?: string }).code ?? ''}`.trim())
        .filter((status) => status !== '200' && status !== '409 TRANSACTION_CONFLICT');
      expect(unexpected).toEqual([]);
    });
  });

  describe('PATCH /model-configs/:id with If-Match under concurrency', () => {
    it('lets exactly one of 30 PATCHes with the same If-Match win; the rest get 412', async () => {
      const usageType = unique('patch');
      const config = await api.create(configBody(usageType, 1));
      expect(config.version).toBe(1);
      const responses = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          api
            .http()
            .patch(`${API}/model-configs/${config.id}`)
            .set('If-Match', '"1"')
            .send({ modelName: `Writer ${i}` }),
        ),
      );
      const statuses = responses.map((res) => res.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      expect(statuses.filter((status) => status === 412)).toHaveLength(29);
      for (const res of responses.filter((r) => r.status === 412)) {
        expectError(res, 412, 'VERSION_MISMATCH');
      }
      const winner = responses.find((res) => res.status === 200) as Response;
      const final = await api.get(config.id);
      expect(final.version).toBe(2);
      expect(final).toEqual(winner.body);
    });
  });

  describe('GET /health/database', () => {
    it('shows transaction counters that moved with the traffic above', async () => {
      const now = await transactionCounters();
      expect(now.committed).toBeGreaterThan(countersAtStart.committed);
      expect(now.rolledBack).toBeGreaterThan(countersAtStart.rolledBack);
      expect(now.conflicts).toBeGreaterThan(countersAtStart.conflicts);
      expect(now.retried).toBeGreaterThan(countersAtStart.retried);
      expect(now.started).toBeGreaterThanOrEqual(now.committed + now.rolledBack);
    });
  });
});
