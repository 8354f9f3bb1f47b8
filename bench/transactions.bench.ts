import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { type DuckDBConnection, version } from '@duckdb/node-api';
import { DuckDbClient, DuckDbDatabase, DuckDbModule } from '@lib/duckdb';
import { Transactional, TransactionsModule } from '@lib/transactions';
import type { Benchmark, BenchContext } from './support/benchmark';
import type { Operation } from './support/load';
import { RawLane } from './support/raw-lane';
import { formatInt } from './support/report';
import { type LevelSettings, measureLevel } from './support/transactions-measure';
import {
  type LevelResult,
  MAX_OVERHEAD_PCT,
  type Side,
  printReport,
} from './support/transactions-report';

const UPDATE = 'UPDATE t SET v = v + 1 WHERE id = $1';

/** The service under test: one `@Transactional()` method that bumps one row. */
@Injectable()
class CounterService {
  constructor(private readonly db: DuckDbClient) {}

  @Transactional()
  async bump(id: number): Promise<void> {
    const { rowsChanged } = await this.db.execute(UPDATE, [id]);
    if (rowsChanged !== 1) throw new Error(`expected one row changed, got ${rowsChanged}`);
  }
}

interface Settings extends LevelSettings {
  levels: number[];
  memory: boolean;
}

/**
 * One-row updates per second through `@Transactional()` (a Nest testing module with
 * `DuckDbModule` and `TransactionsModule`) against a hand-written transaction on a raw driver
 * connection of the same DuckDB instance, writing the same file.
 *
 * Every caller updates its own row (caller i → row i + 1), so concurrent callers never conflict.
 * The module's pool has `--pool-max` connections (default 1, as a strict single-writer setup);
 * the raw side opens as many and, when callers outnumber them, queues callers on each connection
 * in arrival order, as the pool does. This machine is shared and noisy, so the sides alternate in
 * short batches (`support/interleave.ts`) and ratios are medians of per-cycle ratios; a
 * `CHECKPOINT` runs (untimed) before every round, so no side pays for an automatic checkpoint
 * that another side's writes filled the WAL for.
 */
const benchmark: Benchmark = {
  name: 'transactions',
  description: '@Transactional() one-row updates/s against raw BEGIN/UPDATE/COMMIT',
  options: [
    '--levels=1,4           concurrent callers (each on its own row)',
    '--rounds=7             rounds per level (one sample per side each)',
    '--round=3              seconds per round, the three sides together',
    '--batch=12             updates per batch and caller (sides alternate every batch)',
    '--warmup=0.5           seconds per side before the first round',
    '--pool-max=1           the module pool size; the raw side opens as many connections',
    '--memory               an in-memory database (no WAL, no fsync): what the library itself costs',
  ],
  run: runTransactionsBenchmark,
};
export default benchmark;

function readSettings(ctx: BenchContext): Settings {
  const { args } = ctx;
  return {
    levels: args.integers('levels', [1, 4]),
    rounds: Math.round(args.number('rounds', 7)),
    roundMs: args.number('round', 3) * 1000,
    batch: Math.round(args.number('batch', 12)),
    warmupMs: args.number('warmup', 0.5) * 1000,
    poolMax: Math.round(args.number('pool-max', 1)),
    memory: args.flag('memory'),
  };
}

async function runTransactionsBenchmark(ctx: BenchContext): Promise<void> {
  const settings = readSettings(ctx);
  const dir = mkdtempSync(join(tmpdir(), 'bench-tx-'));
  const path = settings.memory ? ':memory:' : join(dir, 'tx.duckdb');
  const moduleRef = await openModule(path, settings.poolMax);
  const raws: RawLane[] = [];
  try {
    const database = moduleRef.get(DuckDbDatabase);
    const admin = await database.instance.connect();
    try {
      await admin.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v BIGINT NOT NULL)');
      const rows = Math.max(64, ...settings.levels);
      await admin.run(`INSERT INTO t SELECT i, 0 FROM range(1, ${rows + 1}) r(i)`);
      if (!settings.memory) await admin.run('CHECKPOINT');
      for (let i = 0; i < settings.poolMax; i++) raws.push(await RawLane.open(database, UPDATE));
      const threads = Number(
        (await admin.runAndReadAll("SELECT current_setting('threads')")).getRowsJS()[0][0],
      );
      logSetup(ctx, settings, path, fsKind(dir), threads);

      const counter = { committed: 0 };
      const ops = callerOps(moduleRef, raws, counter);
      const levels: LevelResult[] = [];
      for (const concurrency of settings.levels) {
        levels.push(
          await measureLevel(ctx, concurrency, ops(concurrency), settings, async () => {
            if (!settings.memory) await admin.run('CHECKPOINT');
          }),
        );
      }

      const consistency = await checkConsistency(ctx, admin, counter.committed, settings, path);
      printReport(ctx, levels, settings.rounds);
      const file = await writeResults(ctx, settings, { dir, threads, consistency, levels });
      ctx.log(`\nResults written to ${file}`);
    } finally {
      admin.closeSync();
    }
  } finally {
    for (const raw of raws) raw.close();
    await moduleRef.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A Nest testing module with `DuckDbModule` on `path` (`poolMax` connections), `TransactionsModule`. */
async function openModule(path: string, poolMax: number): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      DuckDbModule.forRoot({
        path,
        isGlobal: true,
        pool: { min: poolMax, max: poolMax },
      }),
      TransactionsModule,
    ],
    providers: [CounterService],
  })
    .setLogger(silentLogger())
    .compile();
  await moduleRef.init();
  return moduleRef;
}

function logSetup(
  ctx: BenchContext,
  settings: Settings,
  path: string,
  filesystem: string,
  threads: number,
): void {
  ctx.log(
    `One-row UPDATE per transaction on ${path} (${settings.memory ? 'no fsync' : filesystem}); ` +
      `${settings.levels.join('/')} ` +
      `callers; pool max ${settings.poolMax} (and as many raw connections); ` +
      `${settings.rounds} rounds of ${settings.roundMs / 1000} s, sides alternating every ` +
      `${settings.batch} updates per caller; DuckDB ` +
      `${version()}, threads=${threads}; UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE}; ` +
      `${os.cpus().length} CPUs`,
  );
}

/**
 * Each side's callers for `concurrency` (caller i bumps row i + 1); every update that completes
 * counts in `counter.committed`.
 */
function callerOps(
  moduleRef: TestingModule,
  raws: readonly RawLane[],
  counter: { committed: number },
): (concurrency: number) => Record<Side, Operation[]> {
  const client = moduleRef.get(DuckDbClient);
  const service = moduleRef.get(CounterService);
  return (concurrency) => {
    const ids = Array.from({ length: concurrency }, (_, i) => i + 1);
    return {
      raw: ids.map((id, i) => async () => {
        await raws[i % raws.length].bump(id);
        counter.committed++;
      }),
      manager: ids.map((id) => async () => {
        await client.transaction(async () => {
          const { rowsChanged } = await client.execute(UPDATE, [id]);
          if (rowsChanged !== 1) throw new Error(`expected one row changed, got ${rowsChanged}`);
        });
        counter.committed++;
      }),
      decorator: ids.map((id) => async () => {
        await service.bump(id);
        counter.committed++;
      }),
    };
  };
}

/** Whether every counted and uncounted update landed exactly once: `sum(v)` = commits. */
interface Consistency {
  committed: number;
  sum: number;
  consistent: boolean;
}

async function checkConsistency(
  ctx: BenchContext,
  admin: DuckDBConnection,
  committed: number,
  settings: Settings,
  path: string,
): Promise<Consistency> {
  const sum = Number((await admin.runAndReadAll('SELECT sum(v) FROM t')).getRowsJS()[0][0]);
  const consistent = sum === committed;
  ctx.log(
    `\nConsistency: ${formatInt(committed)} transactions reported committed, sum(v) = ` +
      `${formatInt(sum)}: ${consistent ? 'equal' : 'MISMATCH'}` +
      (settings.memory ? '.' : `; WAL ${walKb(path)} KiB at the end.`),
  );
  return { committed, sum, consistent };
}

/** Writes `bench/results/transactions.json`. */
function writeResults(
  ctx: BenchContext,
  settings: Settings,
  run: { dir: string; threads: number; consistency: Consistency; levels: LevelResult[] },
): Promise<string> {
  const { levels } = run;
  return ctx.writeResults('transactions', {
    benchmark: 'transactions',
    date: new Date().toISOString(),
    environment: {
      node: process.version,
      duckdb: version(),
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      loadAverage: os.loadavg(),
      uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE),
      duckdbThreads: run.threads,
      filesystem: settings.memory ? ':memory:' : fsKind(run.dir),
    },
    settings,
    sql: UPDATE,
    target: `@Transactional() costs under ${MAX_OVERHEAD_PCT}% of the raw transaction's updates/s`,
    targetMet: {
      updatesPerSecond: levels.every((l) => l.overheadPct < MAX_OVERHEAD_PCT),
      cpuPerUpdate: levels.every((l) => l.cpuOverheadPct < MAX_OVERHEAD_PCT),
    },
    consistency: run.consistency,
    levels,
  });
}

function silentLogger() {
  const noop = () => undefined;
  return { log: noop, error: noop, warn: noop, debug: noop, verbose: noop, fatal: noop };
}

function walKb(path: string): number {
  try {
    return Math.round(statSync(`${path}.wal`).size / 1024);
  } catch {
    return 0;
  }
}

/** The file system type of `dir` from /proc/mounts (fsync cost differs: tmpfs has none). */
function fsKind(dir: string): string {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' '));
    let best = { mount: '', type: 'unknown' };
    for (const [, mount, type] of mounts) {
      if (mount && dir.startsWith(mount) && mount.length >= best.mount.length)
        best = { mount, type };
    }
    return best.type;
  } catch {
    return 'unknown';
  }
}
