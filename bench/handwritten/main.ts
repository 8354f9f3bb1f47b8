/**
 * The yardstick of issue 12: the server a competent engineer would write in a day instead of this
 * service, with the same routes and JSON for the hot paths, on Fastify 5 and `@duckdb/node-api`.
 *
 * - Routes (API.md §2): `GET /usage-types/:t/active`, `GET /usage-types/:t/fallback-chain`,
 *   `GET /model-configs/:id`, `GET /model-configs` (usageType, provider, enabled, limit, offset),
 *   `GET /model-configs/grouped`, `PATCH /model-configs/:id` (If-Match optional),
 *   `PUT /usage-types/:t/chain`. Params, query and bodies are checked by Fastify's JSON schemas;
 *   errors use the API's error body. No logging, no metrics, no request ids, no auth.
 * - Schema: the service's own migration file, applied when the table is missing.
 * - DuckDB: 4 connections (`DB_CONNECTIONS`), each lent to one request at a time (a FIFO queue
 *   when all are busy), its statements prepared once and reused; the service's DuckDB settings.
 *   Writes run between BEGIN and COMMIT, rolled back on any error; a write-write conflict is rerun
 *   up to 3 times; a unique violation is 409. The chain replace is one DELETE and one multi-row
 *   INSERT … RETURNING.
 * - Cache: rendered JSON strings in a `Map` per read key (`JSON.stringify`), lists included;
 *   after a committed PATCH the config's keys, its usage types' keys, `grouped` and every list are
 *   dropped; a chain replace drops everything. A load that raced a write is not kept.
 *
 * Environment: `PORT` (0 = any free port), `HOST` (127.0.0.1), `DUCKDB_PATH` (required),
 * `DB_CONNECTIONS` (4). Prints `LISTENING <port>` once it listens; SIGTERM closes it.
 */
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '6';

import Fastify from 'fastify';
import { ResponseCache } from './cache';
import { Db } from './db';
import { installErrorHandler } from './http';
import { registerReads, registerWrites } from './routes';

async function main(): Promise<void> {
  const path = process.env.DUCKDB_PATH;
  if (!path) throw new Error('DUCKDB_PATH is required');
  const db = await Db.open(path, Number(process.env.DB_CONNECTIONS ?? 4));
  const cache = new ResponseCache();
  const app = Fastify({ logger: false });
  installErrorHandler(app);
  registerReads(app, db, cache);
  registerWrites(app, db, cache);
  await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`LISTENING ${port}\n`);
  process.once('SIGTERM', () => {
    app.close().then(
      () => {
        db.close();
        process.exit(0);
      },
      () => process.exit(1),
    );
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
