import type { FastifyInstance } from 'fastify';
import type { ResponseCache } from './cache';
import { type Db, isUniqueViolation } from './db';
import { HttpError, parseIfMatch, SCHEMAS, sendRendered } from './http';
import {
  type ChainItem,
  loadChain,
  loadGrouped,
  loadList,
  loadOne,
  patchConfig,
  replaceChain,
} from './queries';
import { type Config, type Fields, type ListQuery, SQL } from './sql';

const API = '/api/v1';

/** The ETag of a rendered config. */
const etagOf = (value: unknown): string => `"${(value as Config).version}"`;

type UsageTypeRequest = { Params: { usageType: string } };
const byUsageType = { schema: { params: SCHEMAS.usageTypeParams } };

/** The cached reads: active model, fallback chain, config by id, list, grouped; and liveness. */
export function registerReads(app: FastifyInstance, db: Db, cache: ResponseCache): void {
  app.get('/health/live', async () => ({ status: 'ok' }));

  app.get<UsageTypeRequest>(
    `${API}/usage-types/:usageType/active`,
    byUsageType,
    async (req, reply) => {
      const { usageType } = req.params;
      const load = () => db.use((c) => loadOne(c, SQL.active, usageType));
      return sendRendered(reply, await cache.get(`active:${usageType}`, load, etagOf));
    },
  );

  app.get<UsageTypeRequest>(
    `${API}/usage-types/:usageType/fallback-chain`,
    byUsageType,
    async (req, reply) => {
      const { usageType } = req.params;
      const load = () => db.use((c) => loadChain(c, usageType));
      return sendRendered(reply, await cache.get(`chain:${usageType}`, load));
    },
  );

  app.get(`${API}/model-configs/grouped`, async (_req, reply) =>
    sendRendered(reply, await cache.get('grouped', () => db.use(loadGrouped))),
  );

  app.get<{ Params: { id: string } }>(
    `${API}/model-configs/:id`,
    { schema: { params: SCHEMAS.idParams } },
    async (req, reply) => {
      const { id } = req.params;
      const load = () => db.use((c) => loadOne(c, SQL.byId, id));
      return sendRendered(reply, await cache.get(`id:${id}`, load, etagOf));
    },
  );

  app.get<{ Querystring: ListQuery }>(
    `${API}/model-configs`,
    { schema: { querystring: SCHEMAS.listQuery } },
    async (req, reply) => {
      const q = req.query;
      const key = `list:${q.usageType ?? ''}|${q.provider ?? ''}|${q.enabled ?? ''}|${q.limit}|${q.offset}`;
      return sendRendered(reply, await cache.get(key, () => db.use((c) => loadList(c, q))));
    },
  );
}

/** `PATCH /model-configs/:id` and `PUT /usage-types/:usageType/chain`; caches cleared after commit. */
export function registerWrites(app: FastifyInstance, db: Db, cache: ResponseCache): void {
  app.patch<{ Params: { id: string }; Body: Partial<Fields> }>(
    `${API}/model-configs/:id`,
    { schema: { params: SCHEMAS.idParams, body: SCHEMAS.patchBody } },
    async (req, reply) => {
      const ifMatch = parseIfMatch(req.headers['if-match']);
      const { before, after } = await db
        .transaction((c) => patchConfig(c, req.params.id, req.body, ifMatch))
        .catch(slotTaken);
      if (after.version !== before.version)
        cache.invalidateConfig(after.id, [before.usageType, after.usageType]);
      return reply.header('etag', etagOf(after)).send(after);
    },
  );

  app.put<UsageTypeRequest & { Body: { items: ChainItem[] } }>(
    `${API}/usage-types/:usageType/chain`,
    { schema: { params: SCHEMAS.usageTypeParams, body: SCHEMAS.chainBody } },
    async (req, reply) => {
      const { usageType } = req.params;
      const items = await db
        .transaction((c) => replaceChain(c, usageType, req.body.items))
        .catch(slotTaken);
      cache.clear();
      return reply.send({ usageType, items });
    },
  );
}

/** Rethrows a unique violation as 409 SLOT_TAKEN. */
function slotTaken(error: unknown): never {
  if (isUniqueViolation(error))
    throw new HttpError(409, 'SLOT_TAKEN', 'That (usageType, priority) slot is already taken.');
  throw error;
}
