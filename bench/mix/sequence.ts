import { API, PROVIDERS, type Seed, type SeededConfig, USAGE_TYPES } from '../http/dataset';
import type { HttpRequestSpec } from '../support/http-load';
import { mulberry32 } from '../support/model-configs-db';

/** Requests of the mix's sequence (autocannon sends it over and over, shared by every connection). */
const SEQUENCE_LENGTH = 1000;

/** Of every 100 requests: what each kind of read takes, and writes (the rest). */
const SHARES = { active: 25, byId: 25, fallbackChain: 15, listUsageType: 12, listProvider: 8 };
const WRITE_SHARE = 15;

/** Priority the read-your-writes checker owns in every usage type; the load never writes it. */
export const CHECKER_PRIORITY = 10;

/**
 * A fixed, shuffled sequence of {@link SEQUENCE_LENGTH} requests, 85% reads (active model, config
 * by id, fallback chain, lists filtered by usage type or by provider and enabled) and 15% PATCHes
 * of `modelName` or `parameters` of configs at priorities 1..9 of the 12 usage types (`{{n}}`
 * makes every written value new). Seeded: both servers get the same sequence.
 */
export function mixSequence(seed: Seed): HttpRequestSpec[] {
  const random = mulberry32(0x12);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const readable = seed.configs.filter((c) => USAGE_TYPES.includes(c.usageType as never));
  const writable = readable.filter((c) => c.priority !== CHECKER_PRIORITY);
  const read = (path: string): HttpRequestSpec => ({ method: 'GET', path, kind: 'read' });
  const makers: [number, () => HttpRequestSpec][] = [
    [SHARES.active, () => read(`${API}/usage-types/${pick(USAGE_TYPES)}/active`)],
    [SHARES.byId, () => read(`${API}/model-configs/${pick(readable).id}`)],
    [SHARES.fallbackChain, () => read(`${API}/usage-types/${pick(USAGE_TYPES)}/fallback-chain`)],
    [SHARES.listUsageType, () => read(`${API}/model-configs?usageType=${pick(USAGE_TYPES)}`)],
    [
      SHARES.listProvider,
      () => read(`${API}/model-configs?provider=${pick(PROVIDERS)}&enabled=true`),
    ],
    [WRITE_SHARE, () => patch(pick(writable), random() < 0.5)],
  ];
  const sequence: HttpRequestSpec[] = [];
  for (const [share, make] of makers) {
    for (let i = 0; i < (share * SEQUENCE_LENGTH) / 100; i++) sequence.push(make());
  }
  // Fisher–Yates with the seeded generator.
  for (let i = sequence.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [sequence[i], sequence[j]] = [sequence[j], sequence[i]];
  }
  return sequence;
}

function patch(config: SeededConfig, name: boolean): HttpRequestSpec {
  return {
    method: 'PATCH',
    path: `${API}/model-configs/${config.id}`,
    body: name
      ? '{"modelName":"Mixed load {{n}}"}'
      : '{"parameters":{"temperature":0.5,"seed":{{n}}}}',
    headers: { 'content-type': 'application/json' },
    kind: 'write',
  };
}
