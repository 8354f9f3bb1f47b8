/**
 * Preloaded (`node -r`) into the server process by `npm run bench -- soak`, never by the app:
 * once a second it sends the parent, over the IPC channel, the process's own memory figures
 * (`process.memoryUsage()`) and what DuckDB's buffer manager holds (`duckdb_memory()`), so
 * that RSS growth can be attributed to the V8 heap, to buffers, or to DuckDB.
 *
 * It finds the app's database by wrapping `DuckDBInstance.create` (the app opens exactly one)
 * and queries it on a connection of its own, one statement a second. It also answers two
 * requests from the parent: `{ type: 'gc' }` (runs a full GC when started with `--expose-gc`),
 * `{ type: 'heap-snapshot', path }` (writes a V8 heap snapshot there) and
 * `{ type: 'duckdb-detail' }` (the non-empty rows of `duckdb_memory()` and the settings).
 */
import { writeHeapSnapshot } from 'node:v8';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/** One sample sent to the parent. */
export interface ProbeSample {
  type: 'sample';
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Bytes DuckDB's buffer manager holds (sum of `duckdb_memory().memory_usage_bytes`). */
  duckdb?: number;
}

/** The answer to `duckdb-detail`. */
export interface ProbeDetail {
  type: 'duckdb-detail';
  settings: Record<string, string>;
  /** Tags of `duckdb_memory()` holding memory, in bytes. */
  tags: Record<string, number>;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const driver = require('@duckdb/node-api') as typeof import('@duckdb/node-api');

let instance: DuckDBInstance | undefined;
let connection: Promise<DuckDBConnection> | undefined;
const create = driver.DuckDBInstance.create.bind(driver.DuckDBInstance);
driver.DuckDBInstance.create = async (...args: Parameters<typeof create>) => {
  const created = await create(...args);
  instance ??= created;
  return created;
};

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  if (!instance) return [];
  connection ??= instance.connect();
  const reader = await (await connection).runAndReadAll(sql);
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}

async function duckdbBytes(): Promise<number | undefined> {
  const [row] = await rows(
    'SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT AS used FROM duckdb_memory()',
  );
  return row === undefined ? undefined : Number(row.used);
}

async function detail(): Promise<ProbeDetail> {
  const settings: Record<string, string> = {};
  for (const name of ['memory_limit', 'threads', 'max_memory', 'wal_autocheckpoint']) {
    try {
      const [row] = await rows(`SELECT current_setting('${name}')::VARCHAR AS v`);
      if (row) settings[name] = String(row.v);
    } catch {
      // Not a setting of this DuckDB version.
    }
  }
  const [size] = await rows('PRAGMA database_size');
  if (size)
    settings.database_size = `${String(size.database_size)} (memory ${String(size.memory_usage)})`;
  const tags: Record<string, number> = {};
  for (const row of await rows(
    'SELECT tag, memory_usage_bytes::BIGINT AS b FROM duckdb_memory() WHERE memory_usage_bytes > 0',
  )) {
    tags[String(row.tag)] = Number(row.b);
  }
  return { type: 'duckdb-detail', settings, tags };
}

function send(message: ProbeSample | ProbeDetail): void {
  if (process.send && process.connected) process.send(message);
}

if (process.send) {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    const memory = process.memoryUsage();
    void duckdbBytes()
      .catch(() => undefined)
      .then((duckdb) =>
        send({
          type: 'sample',
          at: Date.now(),
          rss: memory.rss,
          heapUsed: memory.heapUsed,
          heapTotal: memory.heapTotal,
          external: memory.external,
          arrayBuffers: memory.arrayBuffers,
          duckdb,
        }),
      )
      .finally(() => (busy = false));
  }, 1_000);
  timer.unref();
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'gc') (globalThis as { gc?: () => void }).gc?.();
    if (
      message?.type === 'heap-snapshot' &&
      typeof (message as { path?: unknown }).path === 'string'
    ) {
      writeHeapSnapshot((message as { path: string }).path);
    }
    if (message?.type === 'duckdb-detail') {
      void detail().then(send, () => send({ type: 'duckdb-detail', settings: {}, tags: {} }));
    }
  });
  // After adding the listener (which refs it): the channel must not keep the server alive.
  process.channel?.unref();
}
