import os from 'node:os';
import { type DuckDBConnection, type DuckDBPreparedStatement, version } from '@duckdb/node-api';
import { DuckDbClient, DuckDbPool } from '@lib/duckdb';
import type { Benchmark, BenchContext } from './support/benchmark';
import { type LoadSample, type Operation, runClosedLoop } from './support/load';
import {
  IdSequence,
  MODEL_CONFIG_COLUMNS,
  type ModelConfigsDb,
  openModelConfigsDb,
} from './support/model-configs-db';
import { formatInt, markdownTable, median, round, spreadPct } from './support/report';

/** The point read both sides run: the repository's `findById`. */
const POINT_READ = `SELECT ${MODEL_CONFIG_COLUMNS} FROM model_configs WHERE id = $1`;

/** The target this benchmark checks: the pool may cost at most this share of the ceiling. */
const MAX_OVERHEAD_PCT = 10;

type Side = 'raw' | 'client';

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

interface SideResult {
  samples: LoadSample[];
  medianPerSecond: number;
  bestPerSecond: number;
  spreadPct: number;
  medianCpuUsPerOp: number;
  medianEventLoopUtilization: number;
}

interface LevelResult {
  concurrency: number;
  poolMax: number;
  raw: SideResult;
  client: SideResult;
  /** client ÷ raw reads/s of each round (the two sides of a round ran back to back). */
  roundRatios: number[];
  /** The median of `roundRatios`. */
  ratio: number;
  /** `(1 − ratio) × 100`: the throughput the facade costs. */
  overheadPct: number;
  /** Client CPU per read ÷ raw CPU per read − 1, in percent: the same cost, robust to neighbours. */
  cpuOverheadPct: number;
  /** The median share of the machine other processes used during this level's windows. */
  foreignCpuShare: number;
}

/**
 * Point reads per second through `DuckDbClient.query` against the raw `@duckdb/node-api` ceiling
 * on the same data, at several numbers of concurrent callers.
 *
 * - Ceiling: N raw `DuckDBConnection`s, each with its own prepared statement, one per caller;
 *   each read is `bindVarchar` + `runAndReadAll()` + `getRowObjectsJS()`.
 * - Library: N callers through one `DuckDbClient` over a `DuckDbPool` with `min = max = N`
 *   (`--pool-max` overrides max), so the pool opens as many connections as the ceiling has and
 *   no caller ever waits for one: what is measured is the cost of the facade, not queueing.
 * - Both sides read the same seeded random ids; they alternate (A B, B A, A B, …) and each side's
 *   median round is compared, because a 2-core machine is noisy.
 */
const benchmark: Benchmark = {
  name: 'pool',
  description: 'DuckDbClient point reads/s against raw @duckdb/node-api connections',
  options: [
    '--levels=1,4,8',
    '--rounds=6',
    '--warmup=1 (s)',
    '--duration=1 (s per side per round)',
    '--rows=10000',
    '--pool-max=<n> (default: the concurrency)',
    '--threads=<n> (DuckDB threads; default: unset, as the service)',
  ],
  run: runPoolBenchmark,
};
export default benchmark;

async function runPoolBenchmark(ctx: BenchContext): Promise<void> {
  const { args } = ctx;
  const poolMax = args.string('pool-max');
  const threads = args.string('threads');
  const settings: Settings = {
    levels: args.integers('levels', [1, 4, 8]),
    rounds: Math.round(args.number('rounds', 6)),
    warmupMs: args.number('warmup', 1) * 1000,
    rewarmMs: 100,
    durationMs: args.number('duration', 1) * 1000,
    rows: Math.round(args.number('rows', 10_000)),
    poolMax: poolMax === undefined ? undefined : Math.round(args.number('pool-max', 1)),
    threads: threads === undefined ? undefined : Math.round(args.number('threads', 1)),
  };
  const config: Record<string, string> = {};
  if (settings.threads !== undefined) config.threads = String(settings.threads);

  const db = await openModelConfigsDb({ rows: settings.rows, config });
  try {
    const duckdbThreads = await currentThreads(db);
    ctx.log(
      `pool: ${settings.rows} rows, levels ${settings.levels.join('/')}, ${settings.rounds} rounds × ` +
        `${settings.durationMs / 1000} s per side (warm-up ${settings.warmupMs / 1000} s), ` +
        `DuckDB ${version()} threads=${duckdbThreads}, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE}, ` +
        `${os.cpus().length} CPUs`,
    );
    const ids = new IdSequence(db.ids, 100_000);
    const levels: LevelResult[] = [];
    for (const concurrency of settings.levels) {
      levels.push(await measureLevel(ctx, db, ids, concurrency, settings));
    }
    report(ctx, levels);
    const path = await ctx.writeResults('pool', {
      benchmark: 'pool',
      date: new Date().toISOString(),
      environment: {
        node: process.version,
        duckdb: version(),
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE),
        duckdbThreads,
      },
      settings,
      sql: POINT_READ,
      target: `overhead < ${MAX_OVERHEAD_PCT}% at every level`,
      targetMet: levels.every((l) => l.overheadPct < MAX_OVERHEAD_PCT),
      levels,
    });
    ctx.log(`\nResults written to ${path}`);
  } finally {
    db.close();
  }
}

async function measureLevel(
  ctx: BenchContext,
  db: ModelConfigsDb,
  ids: IdSequence,
  concurrency: number,
  settings: Settings,
): Promise<LevelResult> {
  const poolMax = settings.poolMax ?? concurrency;
  const pool = new DuckDbPool(db.database.instance, {
    ...db.options.pool,
    min: Math.min(concurrency, poolMax),
    max: poolMax,
    queryTimeoutMs: db.options.queryTimeoutMs,
    statementCacheSize: db.options.statementCacheSize,
  });
  await pool.start();
  const client = new DuckDbClient(pool);
  const raws = await Promise.all(Array.from({ length: concurrency }, () => openRawReader(db)));
  try {
    const callers: Record<Side, Operation[]> = {
      raw: raws.map((raw) => () => raw.read(ids.next())),
      client: Array.from({ length: concurrency }, () => async () => {
        expectOneRow(await client.query(POINT_READ, [ids.next()]));
      }),
    };
    const samples: Record<Side, LoadSample[]> = { raw: [], client: [] };
    for (let r = 0; r < settings.rounds; r++) {
      const order: Side[] = r % 2 === 0 ? ['raw', 'client'] : ['client', 'raw'];
      for (const side of order) {
        ids.reset();
        const sample = await runClosedLoop(callers[side], {
          warmupMs: r === 0 ? settings.warmupMs : settings.rewarmMs,
          durationMs: settings.durationMs,
        });
        if (sample.errors > 0) {
          ctx.log(
            `  ${side} ×${concurrency}: ${sample.errors} errors, first: ${sample.firstError}`,
          );
        }
        samples[side].push(sample);
      }
    }
    const raw = summarize(samples.raw);
    const lib = summarize(samples.client);
    const roundRatios = samples.client.map((s, i) => s.perSecond / samples.raw[i].perSecond);
    const ratio = median(roundRatios);
    const foreign = median([...samples.raw, ...samples.client].map((s) => s.foreignCpuShare));
    ctx.log(
      `  ×${concurrency}: raw ${samples.raw.map((s) => formatInt(s.perSecond)).join(' / ')}` +
        ` | client ${samples.client.map((s) => formatInt(s.perSecond)).join(' / ')} reads/s`,
    );
    return {
      concurrency,
      poolMax,
      raw,
      client: lib,
      roundRatios: roundRatios.map((r) => round(r, 4)),
      ratio: round(ratio, 4),
      overheadPct: round((1 - ratio) * 100, 2),
      cpuOverheadPct: round((lib.medianCpuUsPerOp / raw.medianCpuUsPerOp - 1) * 100, 2),
      foreignCpuShare: round(foreign, 3),
    };
  } finally {
    for (const raw of raws) raw.close();
    await pool.drain();
  }
}

/** One caller's own raw connection and prepared statement: the cheapest path to row objects. */
interface RawReader {
  read(id: string): Promise<void>;
  close(): void;
}

async function openRawReader(db: ModelConfigsDb): Promise<RawReader> {
  const connection: DuckDBConnection = await db.database.instance.connect();
  const statement: DuckDBPreparedStatement = await connection.prepare(POINT_READ);
  return {
    read: async (id) => {
      statement.bindVarchar(1, id);
      const reader = await statement.runAndReadAll();
      expectOneRow(reader.getRowObjectsJS());
    },
    close: () => {
      statement.destroySync();
      connection.closeSync();
    },
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

function summarize(samples: LoadSample[]): SideResult {
  const perSecond = samples.map((s) => s.perSecond);
  return {
    samples: samples.map((s) => ({
      ...s,
      perSecond: round(s.perSecond),
      elapsedMs: round(s.elapsedMs),
      cpuUsPerOp: round(s.cpuUsPerOp, 1),
      eventLoopUtilization: round(s.eventLoopUtilization, 3),
      foreignCpuShare: round(s.foreignCpuShare, 3),
    })),
    medianPerSecond: round(median(perSecond)),
    bestPerSecond: round(Math.max(...perSecond)),
    spreadPct: round(spreadPct(perSecond), 1),
    medianCpuUsPerOp: round(median(samples.map((s) => s.cpuUsPerOp)), 1),
    medianEventLoopUtilization: round(median(samples.map((s) => s.eventLoopUtilization)), 3),
  };
}

function report(ctx: BenchContext, levels: readonly LevelResult[]): void {
  ctx.log('\nPoint reads by primary key (reads/s: median of the rounds; ratio: median of the');
  ctx.log('per-round ratios, each round running both sides back to back):\n');
  ctx.log(
    markdownTable(
      ['concurrency', 'raw ceiling reads/s', 'DuckDbClient reads/s', 'ratio', 'pool overhead %'],
      levels.map((l) => [
        `${l.concurrency} (pool max ${l.poolMax})`,
        formatInt(l.raw.medianPerSecond),
        formatInt(l.client.medianPerSecond),
        l.ratio.toFixed(3),
        l.overheadPct.toFixed(1),
      ]),
    ),
  );
  ctx.log('\nCPU per read (µs, every thread of this process) and event-loop utilization, median;');
  ctx.log("other processes' share of the machine while measuring:\n");
  ctx.log(
    markdownTable(
      [
        'concurrency',
        'raw CPU µs',
        'client CPU µs',
        'CPU overhead %',
        'raw / client ELU',
        'neighbours',
      ],
      levels.map((l) => [
        String(l.concurrency),
        l.raw.medianCpuUsPerOp.toFixed(0),
        l.client.medianCpuUsPerOp.toFixed(0),
        l.cpuOverheadPct.toFixed(1),
        `${l.raw.medianEventLoopUtilization.toFixed(2)} / ${l.client.medianEventLoopUtilization.toFixed(2)}`,
        `${(l.foreignCpuShare * 100).toFixed(0)}%`,
      ]),
    ),
  );
  const worst = levels.reduce((a, b) => (b.overheadPct > a.overheadPct ? b : a));
  const worstCpu = levels.reduce((a, b) => (b.cpuOverheadPct > a.cpuOverheadPct ? b : a));
  const busiest = Math.max(...levels.map((l) => l.foreignCpuShare));
  ctx.log(
    `\nVerdict: target "the pool costs under ${MAX_OVERHEAD_PCT}% of the ceiling at every level" ` +
      `${worst.overheadPct < MAX_OVERHEAD_PCT ? 'MET' : 'MISSED'}: worst throughput overhead ` +
      `${worst.overheadPct.toFixed(1)}% at ${worst.concurrency} callers; worst CPU overhead ` +
      `${worstCpu.cpuOverheadPct.toFixed(1)}% at ${worstCpu.concurrency}.` +
      (busiest > 0.1
        ? ` Other processes used up to ${(busiest * 100).toFixed(0)}% of the machine: rerun on a quiet one.`
        : ''),
  );
}
