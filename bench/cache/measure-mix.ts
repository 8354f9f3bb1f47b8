import { DuckDbClient, transactionStorage } from '@lib/duckdb';
import { type GetOrLoadOptions, QueryCache } from '@lib/query-cache';
import type { BenchContext } from '../support/benchmark';
import { type HttpRequestSpec, runHttpLoad } from '../support/http-load';
import { mulberry32 } from '../support/model-configs-db';
import { formatInt, round } from '../support/report';
import { cacheStats, getJson } from './apps';
import { API, type MixResult, type RunningApp, type Settings } from './types';

/** The seeded configs the mix reads and writes. */
interface SeededConfig {
  id: string;
  usageType: string;
  modelId: string;
  provider: string;
}

/**
 * (d): a seeded mix over the cached reads, one request in `settings.writeEvery` a `PATCH` of a
 * config's `modelName`, after every read once; the hit ratio from `/health/cache` before and after,
 * the writes from `sum(version)`, the misses by kind of key from the loader runs.
 */
export async function measureMix(
  ctx: BenchContext,
  target: RunningApp,
  settings: Settings,
): Promise<MixResult> {
  const page = await getJson<{ items: SeededConfig[] }>(
    `${target.origin}${API}/model-configs?limit=1000`,
  );
  const sequence = mixSequence(page.items, settings.writeEvery);
  // Every read once, so the mix measures steady state rather than a cold cache.
  const readPaths = [...new Set(sequence.filter((s) => s.method === 'GET').map((s) => s.path))];
  for (const path of readPaths) await getJson(`${target.origin}${path}`);

  const loadsByKind = countLoadsByKind(target.app.get(QueryCache));
  const db = target.app.get(DuckDbClient);
  const versions = async () =>
    Number((await db.queryOne<{ s: number }>('SELECT sum(version) AS s FROM model_configs'))?.s);
  const before = await cacheStats(target.origin);
  const versionsBefore = await versions();
  const sample = await runHttpLoad({
    url: target.origin,
    connections: settings.connections,
    durationS: settings.mixDurationS,
    mix: sequence,
  });
  const after = await cacheStats(target.origin);
  const writes = (await versions()) - versionsBefore;
  const missesByKind = Object.fromEntries(loadsByKind.stop());
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  ctx.log(
    `  mix: ${formatInt(sample.requests)} requests (${formatInt(sample.perSecond)}/s), ` +
      `${writes} writes, ${formatInt(hits)} hits, ${formatInt(misses)} misses`,
  );
  return {
    requests: sample.requests,
    perSecond: round(sample.perSecond),
    non2xx: sample.non2xx,
    errors: sample.errors,
    writes,
    hits,
    misses,
    hitRatio: round(hits + misses === 0 ? 0 : hits / (hits + misses), 4),
    missesPerWrite: round(writes === 0 ? 0 : misses / writes, 2),
    reportedHitRatio: after.hitRatio,
    latencyP99Ms: sample.latencyP99Ms,
    missesByKind,
    readSpecs: readPaths.length,
    sequenceLength: sequence.length,
  };
}

/**
 * The mix's requests: every kind of read equally often, its usage type / provider / id drawn at
 * random (seeded); one request in `writeEvery` renames a config, each in turn.
 */
function mixSequence(configs: readonly SeededConfig[], writeEvery: number): HttpRequestSpec[] {
  const usageTypes = [...new Set(configs.map((c) => c.usageType))];
  const providers = [...new Set(configs.map((c) => c.provider))];
  const activeModel = new Map(configs.map((c) => [c.usageType, c.modelId]));
  const kinds: ((random: () => number) => string)[] = [
    (random) => `${API}/usage-types/${pick(usageTypes, random)}/active`,
    (random) => `${API}/usage-types/${pick(usageTypes, random)}/fallback-chain`,
    () => `${API}/usage-types`,
    (random) => `${API}/providers/${pick(providers, random)}/models`,
    (random) => {
      const usageType = pick(usageTypes, random);
      return `${API}/usage-types/${usageType}/models/${encodeURIComponent(activeModel.get(usageType) as string)}`;
    },
    (random) => `${API}/model-configs/${pick(configs, random).id}`,
  ];
  const random = mulberry32(0xcace);
  const length = writeEvery * configs.length;
  const sequence: HttpRequestSpec[] = [];
  for (let i = 0; i < length; i++) {
    if ((i + 1) % writeEvery === 0) {
      const config = configs[Math.floor(i / writeEvery) % configs.length];
      sequence.push({
        method: 'PATCH',
        path: `${API}/model-configs/${config.id}`,
        body: '{"modelName":"Bench model {{n}}"}',
        headers: { 'content-type': 'application/json' },
      });
    } else {
      sequence.push({ method: 'GET', path: kinds[Math.floor(random() * kinds.length)](random) });
    }
  }
  return sequence;
}

/**
 * Counts the loader runs of `cache.getOrLoad` outside transactions (its misses and bypasses;
 * a transaction's reads skip the cache and are not counted) by the kind of key, the repository's
 * prefix before `:`, by wrapping the method of this one instance until `stop()`.
 */
function countLoadsByKind(cache: QueryCache): { stop(): Map<string, number> } {
  const counts = new Map<string, number>();
  const original = cache.getOrLoad;
  const wrapped: QueryCache['getOrLoad'] = function <T>(
    this: QueryCache,
    key: string,
    loader: () => Promise<T>,
    options: GetOrLoadOptions,
  ): Promise<T> {
    const counted = (): Promise<T> => {
      if (!transactionStorage.getStore()) {
        const kind = key.split(':', 1)[0];
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
      }
      return loader();
    };
    return original.call(this, key, counted, options) as Promise<T>;
  };
  cache.getOrLoad = wrapped;
  return {
    stop: () => {
      cache.getOrLoad = original;
      return counts;
    },
  };
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)];
}
