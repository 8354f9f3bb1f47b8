import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { type DuckDBConnection, type DuckDBPreparedStatement, version } from '@duckdb/node-api';
import { DuckDbClient, DuckDbDatabase, DuckDbModule } from '@lib/duckdb';
import { Transactional, TransactionsModule } from '@lib/transactions';
import { type SideResult, summarize } from './pool.report';
import type { Benchmark, BenchContext } from './support/benchmark';
import {
  type BatchSample,
  batchCpuUsPerOp,
  batchPerSecond,
  cycleRatios,
  runInterleaved,
} from './support/interleave';
import type { LoadSample, Operation } from './support/load';
import { formatInt, markdownTable, median, round } from './support/report';

const UPDATE = 'UPDATE t SET v = v + 1 WHERE id = $1';

/** The target the verdict checks: `@Transactional` costs under this share of the raw ceiling. */
const MAX_OVERHEAD_PCT = 5;

/**
 * The ways one caller updates one row in its own transaction:
 *
 * - `raw`: a hand-written `BEGIN TRANSACTION` / prepared `UPDATE` / `COMMIT` on a pinned driver
 *   connection of the same DuckDB instance (the ceiling);
 * - `manager`: `DuckDbClient.transaction(() => db.execute(…))`: the transaction manager without the
 *   decorator, to tell the two apart;
 * - `decorator`: a Nest provider's `@Transactional()` method doing `db.execute(…)`.
 */
type Side = 'raw' | 'manager' | 'decorator';
const SIDES: readonly Side[] = ['raw', 'manager', 'decorator'];
const SIDE_LABEL: Record<Side, string> = {
  raw: 'raw BEGIN / prepared UPDATE / COMMIT',
  manager: 'DuckDbClient.transaction()',
  decorator: '@Transactional()',
};

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

interface Settings {
  levels: number[];
  rounds: number;
  /** Wall time of one round, the three sides together. */
  roundMs: number;
  /** Operations per batch and caller. */
  batch: number;
  warmupMs: number;
  poolMax: number;
  memory: boolean;
}

/** A ratio as the median of per-cycle ratios, with their quartiles and per-round aggregates. */
interface Ratio {
  /** Median over cycles (one batch of each side back to back) of side ÷ raw. */
  median: number;
  q1: number;
  q3: number;
  cycles: number;
  /** side ÷ raw of each round's sums (lowest and highest shown in the report). */
  rounds: number[];
}

interface LevelResult {
  concurrency: number;
  /** Driver connections each side uses: the pool's `max`, and as many raw ones. */
  connections: number;
  sides: Record<Side, SideResult>;
  /** updates/s ratios against raw. */
  throughput: Record<'manager' | 'decorator', Ratio>;
  /** CPU-per-update ratios against raw. */
  cpu: Record<'manager' | 'decorator', Ratio>;
  /** `(1 − decorator throughput ratio) × 100`. */
  overheadPct: number;
  /** `(decorator CPU ratio − 1) × 100`. */
  cpuOverheadPct: number;
  /** decorator − raw CPU per update (median over cycles), µs. */
  cpuDeltaUs: number;
  foreignCpuShare: number;
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
  const rows = Math.max(64, ...settings.levels);
  const moduleRef = await Test.createTestingModule({
    imports: [
      DuckDbModule.forRoot({
        path,
        isGlobal: true,
        pool: { min: settings.poolMax, max: settings.poolMax },
      }),
      TransactionsModule,
    ],
    providers: [CounterService],
  })
    .setLogger(silentLogger())
    .compile();
  await moduleRef.init();
  const raws: RawLane[] = [];
  try {
    const database = moduleRef.get(DuckDbDatabase);
    const client = moduleRef.get(DuckDbClient);
    const service = moduleRef.get(CounterService);
    const admin = await database.instance.connect();
    try {
      await admin.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v BIGINT NOT NULL)');
      await admin.run(`INSERT INTO t SELECT i, 0 FROM range(1, ${rows + 1}) r(i)`);
      if (!settings.memory) await admin.run('CHECKPOINT');
      for (let i = 0; i < settings.poolMax; i++) raws.push(await RawLane.open(database));
      const threads = Number(
        (await admin.runAndReadAll("SELECT current_setting('threads')")).getRowsJS()[0][0],
      );
      ctx.log(
        `One-row UPDATE per transaction on ${path} (${settings.memory ? 'no fsync' : fsKind(dir)}); ` +
          `${settings.levels.join('/')} ` +
          `callers; pool max ${settings.poolMax} (and as many raw connections); ` +
          `${settings.rounds} rounds of ${settings.roundMs / 1000} s, sides alternating every ` +
          `${settings.batch} updates per caller; DuckDB ` +
          `${version()}, threads=${threads}; UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE}; ` +
          `${os.cpus().length} CPUs`,
      );

      let committed = 0;
      const ops = (concurrency: number): Record<Side, Operation[]> => {
        const ids = Array.from({ length: concurrency }, (_, i) => i + 1);
        return {
          raw: ids.map((id, i) => async () => {
            await raws[i % raws.length].bump(id);
            committed++;
          }),
          manager: ids.map((id) => async () => {
            await client.transaction(async () => {
              const { rowsChanged } = await client.execute(UPDATE, [id]);
              if (rowsChanged !== 1)
                throw new Error(`expected one row changed, got ${rowsChanged}`);
            });
            committed++;
          }),
          decorator: ids.map((id) => async () => {
            await service.bump(id);
            committed++;
          }),
        };
      };

      const levels: LevelResult[] = [];
      for (const concurrency of settings.levels) {
        levels.push(
          await measureLevel(ctx, concurrency, ops(concurrency), settings, async () => {
            if (!settings.memory) await admin.run('CHECKPOINT');
          }),
        );
      }

      // Every counted and uncounted update must have landed exactly once.
      const sum = Number((await admin.runAndReadAll('SELECT sum(v) FROM t')).getRowsJS()[0][0]);
      const consistent = sum === committed;
      ctx.log(
        `\nConsistency: ${formatInt(committed)} transactions reported committed, sum(v) = ` +
          `${formatInt(sum)}: ${consistent ? 'equal' : 'MISMATCH'}` +
          (settings.memory ? '.' : `; WAL ${walKb(path)} KiB at the end.`),
      );
      printReport(ctx, levels, settings);
      const file = await ctx.writeResults('transactions', {
        benchmark: 'transactions',
        date: new Date().toISOString(),
        environment: {
          node: process.version,
          duckdb: version(),
          cpus: os.cpus().length,
          cpuModel: os.cpus()[0]?.model,
          loadAverage: os.loadavg(),
          uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE),
          duckdbThreads: threads,
          filesystem: settings.memory ? ':memory:' : fsKind(dir),
        },
        settings,
        sql: UPDATE,
        target: `@Transactional() costs under ${MAX_OVERHEAD_PCT}% of the raw transaction's updates/s`,
        targetMet: {
          updatesPerSecond: levels.every((l) => l.overheadPct < MAX_OVERHEAD_PCT),
          cpuPerUpdate: levels.every((l) => l.cpuOverheadPct < MAX_OVERHEAD_PCT),
        },
        consistency: { committed, sum, consistent },
        levels,
      });
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

async function measureLevel(
  ctx: BenchContext,
  concurrency: number,
  callers: Record<Side, Operation[]>,
  settings: Settings,
  checkpoint: () => Promise<void>,
): Promise<LevelResult> {
  const { rounds, cycles } = await runInterleaved(SIDES, callers, {
    batchOps: settings.batch * concurrency,
    rounds: settings.rounds,
    roundMs: settings.roundMs,
    warmupMs: settings.warmupMs,
    betweenRounds: checkpoint,
  });
  for (const side of SIDES) {
    const errors = rounds[side].reduce((n, s) => n + s.errors, 0);
    const first = rounds[side].find((s) => s.firstError)?.firstError;
    if (errors > 0) ctx.log(`  ${side} ×${concurrency}: ${errors} errors; first: ${first}`);
  }
  ctx.log(
    `  ${concurrency} callers, updates/s per round: ` +
      SIDES.map((s) => `${s} ${rounds[s].map((x) => formatInt(x.perSecond)).join(' ')}`).join(
        ' | ',
      ) +
      ` (${cycles.length} cycles)`,
  );
  const ratio = (
    side: 'manager' | 'decorator',
    ofBatch: (b: BatchSample) => number,
    ofRound: (s: LoadSample) => number,
  ): Ratio => {
    const perCycle = cycleRatios(cycles, side, 'raw', ofBatch);
    return {
      median: round(perCycle.median, 4),
      q1: round(perCycle.q1, 4),
      q3: round(perCycle.q3, 4),
      cycles: perCycle.cycles,
      rounds: rounds[side].map((s, i) => round(ofRound(s) / ofRound(rounds.raw[i]), 4)),
    };
  };
  const throughput = {
    manager: ratio('manager', batchPerSecond, (s) => s.perSecond),
    decorator: ratio('decorator', batchPerSecond, (s) => s.perSecond),
  };
  const cpu = {
    manager: ratio('manager', batchCpuUsPerOp, (s) => s.cpuUsPerOp),
    decorator: ratio('decorator', batchCpuUsPerOp, (s) => s.cpuUsPerOp),
  };
  const deltas = cycles
    .filter((c) => c.decorator.ops > 0 && c.raw.ops > 0)
    .map((c) => batchCpuUsPerOp(c.decorator) - batchCpuUsPerOp(c.raw));
  return {
    concurrency,
    connections: settings.poolMax,
    sides: {
      raw: summarize(rounds.raw),
      manager: summarize(rounds.manager),
      decorator: summarize(rounds.decorator),
    },
    throughput,
    cpu,
    overheadPct: round((1 - throughput.decorator.median) * 100, 2),
    cpuOverheadPct: round((cpu.decorator.median - 1) * 100, 2),
    cpuDeltaUs: round(deltas.length > 0 ? median(deltas) : NaN, 1),
    foreignCpuShare: round(
      median(SIDES.flatMap((s) => rounds[s].map((x) => x.foreignCpuShare))),
      3,
    ),
  };
}

function printReport(ctx: BenchContext, levels: readonly LevelResult[], settings: Settings): void {
  const show = (r: Ratio) =>
    `${r.median.toFixed(3)} (${r.q1.toFixed(2)}–${r.q3.toFixed(2)}; ${Math.min(...r.rounds).toFixed(2)}–${Math.max(...r.rounds).toFixed(2)})`;
  ctx.log('\nOne-row UPDATE, one transaction per call. updates/s, CPU µs/op: medians of the');
  ctx.log(
    'rounds (CPU: every thread of this process: JS, libuv pool, DuckDB); µs/op: wall time per',
  );
  ctx.log(
    'update, 1 s ÷ updates/s (× callers = mean latency). ratio: median over cycles (one batch',
  );
  ctx.log('of each side, back to back) of side ÷ raw updates/s; in brackets the quartiles of the');
  ctx.log('cycle ratios, then the lowest and highest whole-round ratio.\n');
  const rows: string[][] = [];
  for (const level of levels) {
    for (const side of SIDES) {
      const s = level.sides[side];
      rows.push([
        `${level.concurrency} × ${SIDE_LABEL[side]}`,
        formatInt(s.medianPerSecond),
        (1e6 / s.medianPerSecond).toFixed(0),
        s.medianCpuUsPerOp.toFixed(0),
        side === 'raw' ? '1.000' : show(level.throughput[side]),
        side === 'raw' ? '' : ((1 - level.throughput[side].median) * 100).toFixed(1),
      ]);
    }
  }
  ctx.log(
    markdownTable(
      [
        'callers × side',
        'updates/s',
        'µs/op',
        'CPU µs/op',
        'ratio (quartiles; rounds)',
        'overhead %',
      ],
      rows,
    ),
  );
  ctx.log('\nCPU per update against raw, the same way (median of per-cycle ratios, quartiles).');
  ctx.log('CPU Δ: median per-cycle difference, @Transactional() − raw. neighbours: share of the');
  ctx.log('machine other processes used while measuring.\n');
  ctx.log(
    markdownTable(
      [
        'callers',
        'CPU ratio manager',
        'CPU ratio @Transactional()',
        'CPU Δ µs',
        'CPU overhead %',
        'cycles',
        'neighbours',
      ],
      levels.map((l) => [
        `${l.concurrency} (pool max ${l.connections})`,
        show(l.cpu.manager),
        show(l.cpu.decorator),
        l.cpuDeltaUs.toFixed(0),
        l.cpuOverheadPct.toFixed(1),
        String(l.cpu.decorator.cycles),
        `${(l.foreignCpuShare * 100).toFixed(0)}%`,
      ]),
    ),
  );
  const worst = levels.reduce((a, b) => (b.overheadPct > a.overheadPct ? b : a));
  const worstCpu = levels.reduce((a, b) => (b.cpuOverheadPct > a.cpuOverheadPct ? b : a));
  const busiest = Math.max(...levels.map((l) => l.foreignCpuShare));
  const verdict = (pct: number) => (pct < MAX_OVERHEAD_PCT ? 'MET' : 'MISSED');
  ctx.log(
    `\nVerdict on "@Transactional() costs under ${MAX_OVERHEAD_PCT}% of a hand-written ` +
      `transaction": updates/s ${verdict(worst.overheadPct)} (worst ` +
      `${worst.overheadPct.toFixed(1)}% at ${worst.concurrency} callers); CPU per update ` +
      `${verdict(worstCpu.cpuOverheadPct)} (worst ${worstCpu.cpuOverheadPct.toFixed(1)}% at ` +
      `${worstCpu.concurrency} callers).` +
      (busiest > 0.1
        ? ` Other processes used up to ${(busiest * 100).toFixed(0)}% of the machine; the ` +
          'quartiles show how far single cycles disagreed.'
        : '') +
      (settings.rounds < 5
        ? ` Only ${settings.rounds} rounds: rerun with more for a verdict.`
        : ''),
  );
}

/**
 * One pinned raw connection with its prepared `UPDATE`; callers that share it are queued in
 * arrival order (one statement at a time per connection), as the pool queues them.
 */
class RawLane {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  private constructor(
    private readonly connection: DuckDBConnection,
    private readonly update: DuckDBPreparedStatement,
  ) {}

  static async open(database: DuckDbDatabase): Promise<RawLane> {
    const connection = await database.instance.connect();
    try {
      return new RawLane(connection, await connection.prepare(UPDATE));
    } catch (error) {
      connection.closeSync();
      throw error;
    }
  }

  /** Runs one transaction that bumps row `id`, after the ones queued before it. */
  bump(id: number): Promise<void> {
    if (this.waiting === 0) {
      // Nobody ahead: skip the queue, as the pool lends an idle connection at once.
      this.waiting++;
      const run = this.transaction(id).finally(() => this.waiting--);
      this.tail = run.catch(() => undefined);
      return run;
    }
    this.waiting++;
    const run = this.tail.then(() => this.transaction(id)).finally(() => this.waiting--);
    this.tail = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.update.destroySync();
    this.connection.closeSync();
  }

  private async transaction(id: number): Promise<void> {
    await this.connection.run('BEGIN TRANSACTION');
    try {
      this.update.bindInteger(1, id);
      const { rowsChanged } = await this.update.run();
      if (rowsChanged !== 1) throw new Error(`expected one row changed, got ${rowsChanged}`);
    } catch (error) {
      await this.connection.run('ROLLBACK');
      throw error;
    }
    await this.connection.run('COMMIT');
  }
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
