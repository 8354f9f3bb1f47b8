import os from 'node:os';
import { version } from '@duckdb/node-api';
import { DuckDbClient, DuckDbPool } from '@lib/duckdb';
import { TransactionManager } from '@lib/transactions';
import { MODEL_CONFIG_SQL } from '../apps/api/src/model-configs/model-configs.sql';
import {
  type LevelResult,
  MAX_OVERHEAD_PCT,
  type Side,
  printReport,
  summarize,
} from './pool.report';
import type { Benchmark, BenchContext } from './support/benchmark';
import { type LoadSample, type Operation, runClosedLoop } from './support/load';
import { IdSequence, type ModelConfigsDb, openModelConfigsDb } from './support/model-configs-db';
import { type RawReadPath, type RawReader, openRawReader } from './support/raw-readers';
import { formatInt, median, round } from './support/report';

/** The point read every side runs: the repository's `findById`. */
const POINT_READ = MODEL_CONFIG_SQL.byId;

const SIDES: readonly Side[] = ['ceiling', 'readAll', 'client'];

interface Settings {
  levels: number[];
  rounds: number;
  warmupMs: number;
  rewarmMs: number;
  durationMs: number;
  rows: number;
  poolMax?: number;
  threads?: number;
}

/**
 * Point reads per second through `DuckDbClient.query` against the raw `@duckdb/node-api` ceiling
 * on the same data, at several numbers of concurrent callers.
 *
 * - Ceiling: one raw connection and prepared statement per caller, read by the cheapest driver
 *   path (`run()` + synchronous `getChunk()`; see `support/raw-readers.ts`).
 * - readAll: the same with `runAndReadAll()` + `getRowObjectsJS()`, the driver path the library
 *   takes, to tell the cost of that path from the cost of the facade.
 * - Client: one `DuckDbClient` over a `DuckDbPool` with `min = max = callers` (`--pool-max`
 *   overrides max), so it has as many connections as the raw sides and no caller ever waits for
 *   one: what is measured is the facade, not queueing.
 * - Every side reads the same seeded random ids; the sides take turns in a rotating order, one
 *   short window each, and each round's sides are compared, because a 2-core machine is noisy.
 */
const benchmark: Benchmark = {
  name: 'pool',
  description: 'DuckDbClient point reads/s against raw @duckdb/node-api connections',
  options: [
    '--levels=1,4,8         concurrent callers',
    '--rounds=5             windows per side and level',
    '--duration=0.8         seconds per window',
    '--warmup=1             seconds before a side is first measured',
    '--rows=10000',
    '--pool-max=<n>         default: the number of callers',
    '--threads=<n>          DuckDB threads; default: unset, as in the service',
  ],
  run: runPoolBenchmark,
};
export default benchmark;

function readSettings(ctx: BenchContext): Settings {
  const { args } = ctx;
  const optional = (name: string) =>
    args.string(name) === undefined ? undefined : Math.round(args.number(name, 1));
  return {
    levels: args.integers('levels', [1, 4, 8]),
    rounds: Math.round(args.number('rounds', 5)),
    warmupMs: args.number('warmup', 1) * 1000,
    rewarmMs: 100,
    durationMs: args.number('duration', 0.8) * 1000,
    rows: Math.round(args.number('rows', 10_000)),
    poolMax: optional('pool-max'),
    threads: optional('threads'),
  };
}

async function runPoolBenchmark(ctx: BenchContext): Promise<void> {
  const settings = readSettings(ctx);
  const config: Record<string, string> = {};
  if (settings.threads !== undefined) config.threads = String(settings.threads);
  const db = await openModelConfigsDb({ rows: settings.rows, config });
  try {
    const duckdbThreads = await currentThreads(db);
    ctx.log(
      `${settings.rows} rows; ${settings.levels.join('/')} callers; ${settings.rounds} rounds of ` +
        `${settings.durationMs / 1000} s per side; DuckDB ${version()}, threads=${duckdbThreads}; ` +
        `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE}; ${os.cpus().length} CPUs`,
    );
    const ids = new IdSequence(db.ids, 100_000);
    const levels: LevelResult[] = [];
    for (const concurrency of settings.levels) {
      levels.push(await measureLevel(ctx, db, ids, concurrency, settings));
    }
    printReport(ctx, levels);
    const path = await ctx.writeResults('pool', {
      benchmark: 'pool',
      date: new Date().toISOString(),
      environment: {
        node: process.version,
        duckdb: version(),
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        loadAverage: os.loadavg(),
        uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE),
        duckdbThreads,
      },
      settings,
      sql: POINT_READ,
      target: `DuckDbClient costs under ${MAX_OVERHEAD_PCT}% of the ceiling's reads/s at every level`,
      targetMet: {
        readsPerSecond: levels.every((l) => l.overheadPct < MAX_OVERHEAD_PCT),
        cpuPerRead: levels.every((l) => l.cpuOverheadPct < MAX_OVERHEAD_PCT),
      },
      levels,
    });
    ctx.log(`\nResults written to ${path}`);
  } finally {
    db.close();
  }
}

/**
 * One level: `concurrency` callers on each side (a pool of `--pool-max` or as many connections
 * as callers, and as many raw readers per driver path), the sides rotating every round.
 */
async function measureLevel(
  ctx: BenchContext,
  db: ModelConfigsDb,
  ids: IdSequence,
  concurrency: number,
  settings: Settings,
): Promise<LevelResult> {
  const { instance } = db.database;
  const poolMax = settings.poolMax ?? concurrency;
  const pool = new DuckDbPool(instance, {
    ...db.options.pool,
    min: Math.min(concurrency, poolMax),
    max: poolMax,
    queryTimeoutMs: db.options.queryTimeoutMs,
    statementCacheSize: db.options.statementCacheSize,
  });
  await pool.start();
  const client = new DuckDbClient(pool, new TransactionManager(pool));
  const readers: RawReader[] = [];
  const open = async (path: RawReadPath) => {
    const opened: RawReader[] = [];
    for (let i = 0; i < concurrency; i++) {
      opened.push(await openRawReader(instance, POINT_READ, path));
      readers.push(opened[i]);
    }
    return opened;
  };
  try {
    const chunkReaders = await open('chunks');
    const readAllReaders = await open('readAll');
    const callers: Record<Side, Operation[]> = {
      ceiling: chunkReaders.map((r) => async () => expectOneRow(await r.read(ids.next()))),
      readAll: readAllReaders.map((r) => async () => expectOneRow(await r.read(ids.next()))),
      client: Array.from({ length: concurrency }, () => async () => {
        expectOneRow(await client.query(POINT_READ, [ids.next()]));
      }),
    };
    const samples = await runRounds(ctx, ids, concurrency, callers, settings);
    return levelResult(concurrency, poolMax, samples);
  } finally {
    for (const reader of readers) reader.close();
    await pool.drain();
  }
}

/** `settings.rounds` windows per side, the sides in rotating order; logs each round's reads/s. */
async function runRounds(
  ctx: BenchContext,
  ids: IdSequence,
  concurrency: number,
  callers: Record<Side, Operation[]>,
  settings: Settings,
): Promise<Record<Side, LoadSample[]>> {
  const samples: Record<Side, LoadSample[]> = { ceiling: [], readAll: [], client: [] };
  for (let r = 0; r < settings.rounds; r++) {
    // Rotate the order so that no side always runs first (or right after the same neighbour).
    const order = SIDES.map((_, i) => SIDES[(i + r) % SIDES.length]);
    for (const side of order) {
      ids.reset();
      const sample = await runClosedLoop(callers[side], {
        warmupMs: r === 0 ? settings.warmupMs : settings.rewarmMs,
        durationMs: settings.durationMs,
      });
      if (sample.errors > 0) {
        ctx.log(`  ${side} ×${concurrency}: ${sample.errors} errors; first: ${sample.firstError}`);
      }
      samples[side].push(sample);
    }
  }
  ctx.log(
    `  ${concurrency} callers, reads/s per round: ` +
      SIDES.map((s) => `${s} ${samples[s].map((x) => formatInt(x.perSecond)).join(' ')}`).join(
        ' | ',
      ),
  );
  return samples;
}

/** The level's sides summarized, and the client against the ceiling and `runAndReadAll`. */
function levelResult(
  concurrency: number,
  poolMax: number,
  samples: Record<Side, LoadSample[]>,
): LevelResult {
  const perRound = (a: Side, b: Side) =>
    samples[a].map((s, i) => s.perSecond / samples[b][i].perSecond);
  const roundRatios = perRound('client', 'ceiling');
  const ratio = median(roundRatios);
  const sides = {
    ceiling: summarize(samples.ceiling),
    readAll: summarize(samples.readAll),
    client: summarize(samples.client),
  };
  const all = SIDES.flatMap((s) => samples[s]);
  return {
    concurrency,
    poolMax,
    sides,
    roundRatios: roundRatios.map((x) => round(x, 4)),
    ratio: round(ratio, 4),
    overheadPct: round((1 - ratio) * 100, 2),
    facadeRatio: round(median(perRound('client', 'readAll')), 4),
    cpuOverheadPct: round(
      (sides.client.medianCpuUsPerOp / sides.ceiling.medianCpuUsPerOp - 1) * 100,
      2,
    ),
    foreignCpuShare: round(median(all.map((s) => s.foreignCpuShare)), 3),
  };
}

function expectOneRow(rows: readonly unknown[]): void {
  if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}`);
}

async function currentThreads(db: ModelConfigsDb): Promise<number> {
  const connection = await db.database.instance.connect();
  try {
    const reader = await connection.runAndReadAll("SELECT current_setting('threads') AS t");
    return Number(reader.getRowsJS()[0][0]);
  } finally {
    connection.closeSync();
  }
}
