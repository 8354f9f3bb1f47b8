import { writeFileSync } from 'node:fs';
import { API, CHAIN_USAGE_TYPE, chainItems, configAt, type Seed } from './dataset';
import type { ServerProcess } from './processes';
import { type Answer, assertSameJson, getAnswer } from './same-json';

/** One measured request. */
export interface BenchRoute {
  name: string;
  method: 'GET' | 'PUT';
  /** Path and query. */
  path: string;
  /** JSON body of a PUT. */
  body?: string;
  /** autocannon connections; the benchmark's `--connections` when absent. */
  connections?: number;
}

/** The routes of `npm run bench -- http`, on the seeded data. */
export function httpRoutes(seed: Seed, chainConnections: number): BenchRoute[] {
  const byId = configAt(seed, 'embedding', 3);
  return [
    { name: 'active', method: 'GET', path: `${API}/usage-types/chat_deep/active` },
    { name: 'by id', method: 'GET', path: `${API}/model-configs/${byId.id}` },
    { name: 'list 100', method: 'GET', path: `${API}/model-configs` },
    { name: 'list ?usageType', method: 'GET', path: `${API}/model-configs?usageType=embedding` },
    {
      name: 'list ?provider&enabled',
      method: 'GET',
      path: `${API}/model-configs?provider=ollama&enabled=true`,
    },
    { name: 'grouped', method: 'GET', path: `${API}/model-configs/grouped` },
    // Served by Nest, uncached and touching nothing: the cost of the framework path itself.
    { name: 'liveness', method: 'GET', path: '/health/live' },
    {
      name: 'PUT chain ×100',
      method: 'PUT',
      path: `${API}/usage-types/${CHAIN_USAGE_TYPE}/chain`,
      body: JSON.stringify({ items: chainItems('bench') }),
      connections: chainConnections,
    },
  ];
}

/** Fields a chain replace makes differ between two servers. */
const FRESH_FIELDS = new Set(['id', 'createdAt', 'updatedAt']);

async function send(origin: string, route: BenchRoute): Promise<Answer> {
  if (route.method === 'GET') return getAnswer(origin, route.path);
  const response = await fetch(`${origin}${route.path}`, {
    method: route.method,
    headers: { 'content-type': 'application/json' },
    body: route.body,
  });
  return { status: response.status, text: await response.text() };
}

/**
 * Sends every route once to both servers and throws unless they answer 200 with the same JSON
 * (key order aside; for the chain replace, new ids and timestamps aside). Reads go first, on the
 * identical seeded files. Returns the service's bodies by `"<METHOD> <path>"`, for the servers
 * that answer fixed bodies.
 */
export async function checkSameAnswers(
  routes: readonly BenchRoute[],
  service: ServerProcess,
  hand: ServerProcess,
): Promise<Record<string, unknown>> {
  const bodies: Record<string, unknown> = {};
  const ordered = [...routes].sort(
    (a, b) => Number(a.method !== 'GET') - Number(b.method !== 'GET'),
  );
  for (const route of ordered) {
    const ours = await send(service.origin, route);
    const theirs = await send(hand.origin, route);
    assertSameJson(
      `${route.method} ${route.path}`,
      { name: service.name, answer: ours },
      { name: hand.name, answer: theirs },
      route.method === 'GET' ? undefined : FRESH_FIELDS,
    );
    bodies[`${route.method} ${route.path}`] = JSON.parse(ours.text) as unknown;
  }
  return bodies;
}

/** Writes the fixed bodies for the raw Fastify and bare Nest servers. */
export function writeBodies(file: string, bodies: Record<string, unknown>): string {
  writeFileSync(file, JSON.stringify(bodies));
  return file;
}
