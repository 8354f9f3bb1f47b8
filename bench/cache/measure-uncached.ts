import type { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbDatabase } from '@lib/duckdb';
import { ModelConfigsRepository } from '../../apps/api/src/model-configs/model-configs.repository';
import { MODEL_CONFIG_SQL } from '../../apps/api/src/model-configs/model-configs.sql';
import { summarize } from '../pool.report';
import type { BenchContext } from '../support/benchmark';
import { runHttpLoad } from '../support/http-load';
import { type LoadSample, type Operation, runClosedLoop } from '../support/load';
import { type RawQuery, openRawQuery } from '../support/raw-readers';
import { formatInt, median, round } from '../support/report';
import { cacheStats, getJson, httpOptions } from './apps';
import { summarizeHttp } from './measure-cached';
import {
  type HttpWindow,
  type RunningApp,
  type Settings,
  UNCACHED_PATH,
  type UncachedResult,
} from './types';

/** `ModelConfigsRepository.list`'s statement, as the uncached request runs it. */
const LIST_SQL = MODEL_CONFIG_SQL.list;

/** The samples of (c)'s rounds, by side. */
interface UncachedSamples {
  http: HttpWindow[];
  raw: LoadSample[];
  repository: LoadSample[];
  /** Cache hits + misses counted while the HTTP side ran. */
  cacheCalls: number;
}

/**
 * (c): `GET UNCACHED_PATH` (one statement per request) against the same statement prepared on
 * `callers` raw connections of the app's DuckDB instance, and the repository method the request
 * calls, in-process; closed loops, the sides rotating every round.
 */
export async function measureUncached(
  ctx: BenchContext,
  target: RunningApp,
  callers: number,
  settings: Settings,
): Promise<UncachedResult> {
  const queries: RawQuery[] = [];
  try {
    await openListQueries(target.app.get(DuckDbDatabase).instance, callers, queries);
    const sameResult = await sameAsHttp(target, queries[0]);
    const rawOps = queries.map((q) => async () => {
      if ((await q.read()).length !== 1) throw new Error('expected one row');
    });
    const repository = target.app.get(ModelConfigsRepository);
    const filter = { usageType: 'embedding', limit: 1, offset: 0 };
    const repositoryOps = queries.map(() => async () => {
      if ((await repository.list(filter)).items.length !== 1) throw new Error('expected one row');
    });
    const samples = await runUncachedRounds(target, rawOps, repositoryOps, settings);
    ctx.log(
      `  uncached per round: http ${samples.http.map((w) => formatInt(w.perSecond)).join(' ')} ` +
        `| repository ${samples.repository.map((s) => formatInt(s.perSecond)).join(' ')} ` +
        `| raw ${samples.raw.map((s) => formatInt(s.perSecond)).join(' ')}`,
    );
    return uncachedResult(samples, callers, sameResult);
  } finally {
    for (const query of queries) query.close();
  }
}

/** Opens `callers` raw queries of `LIST_SQL` bound as the request binds it, into `queries`. */
async function openListQueries(
  instance: DuckDBInstance,
  callers: number,
  queries: RawQuery[],
): Promise<void> {
  for (let i = 0; i < callers; i++) {
    queries.push(
      await openRawQuery(instance, LIST_SQL, (statement) => {
        statement.bindVarchar(1, 'embedding');
        statement.bindNull(2);
        statement.bindNull(3);
        statement.bindInteger(4, 1);
        statement.bindInteger(5, 0);
      }),
    );
  }
}

/** Whether the raw statement returns the same row and total as the HTTP response. */
async function sameAsHttp(target: RunningApp, query: RawQuery): Promise<boolean> {
  const page = await getJson<{ items: { id: string }[]; total: number }>(
    `${target.origin}${UNCACHED_PATH}`,
  );
  const rows = await query.read();
  return (
    rows.length === 1 &&
    page.items.length === 1 &&
    String(rows[0].id) === page.items[0].id &&
    Number(rows[0].total) === page.total
  );
}

/** Warms the HTTP side, then runs (c)'s rounds: one window per side, in rotating order. */
async function runUncachedRounds(
  target: RunningApp,
  rawOps: Operation[],
  repositoryOps: Operation[],
  settings: Settings,
): Promise<UncachedSamples> {
  const options = { ...settings, durationS: settings.uncachedDurationS };
  await runHttpLoad({ ...httpOptions(target, UNCACHED_PATH, options, true) });
  const samples: UncachedSamples = { http: [], raw: [], repository: [], cacheCalls: 0 };
  const sides = ['http', 'raw', 'repository'] as const;
  for (let r = 0; r < settings.uncachedRounds; r++) {
    for (let i = 0; i < sides.length; i++) {
      const side = sides[(i + r) % sides.length];
      const loop = {
        warmupMs: r === 0 ? 500 : 100,
        durationMs: settings.uncachedDurationS * 1000,
      };
      if (side === 'raw') {
        samples.raw.push(await runClosedLoop(rawOps, loop));
      } else if (side === 'repository') {
        samples.repository.push(await runClosedLoop(repositoryOps, loop));
      } else {
        const before = await cacheStats(target.origin);
        samples.http.push(await runHttpLoad(httpOptions(target, UNCACHED_PATH, options, false)));
        const after = await cacheStats(target.origin);
        samples.cacheCalls += after.hits + after.misses - before.hits - before.misses;
      }
    }
  }
  return samples;
}

function uncachedResult(
  samples: UncachedSamples,
  callers: number,
  sameResult: boolean,
): UncachedResult {
  const { http, raw, repository } = samples;
  const roundRatios = http.map((w, i) => w.perSecond / raw[i].perSecond);
  const repositoryRoundRatios = repository.map((s, i) => s.perSecond / raw[i].perSecond);
  return {
    path: UNCACHED_PATH,
    sql: LIST_SQL,
    rawCallers: callers,
    http: summarizeHttp(http),
    repository: summarize(repository),
    raw: summarize(raw),
    roundRatios: roundRatios.map((x) => round(x, 4)),
    ratio: round(median(roundRatios), 4),
    repositoryRatio: round(median(repositoryRoundRatios), 4),
    repositoryRoundRatios: repositoryRoundRatios.map((x) => round(x, 4)),
    cacheCalls: samples.cacheCalls,
    sameResult,
  };
}
