import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppBuild } from '../support/server-process';
import { startAppServer } from './processes';

/** The API prefix. */
export const API = '/api/v1';

/** Twelve usage types: the nine defaults and three more; all sort before the chain's. */
export const USAGE_TYPES = [
  'chat_deep',
  'chat_graph',
  'chat_semantic',
  'chat_text',
  'chat_title',
  'embedding',
  'general_available_models',
  'inference',
  'kg_edge_creation',
  'rerank',
  'summarize',
  'vision',
] as const;

export const PROVIDERS = ['anthropic', 'ollama', 'openai', 'openrouter'] as const;

/** Configs per usage type (priorities 1..10): 120 in all, so an unfiltered page of 100 is full. */
export const PER_USAGE_TYPE = 10;

/**
 * The usage type whose chain the benchmark replaces: seeded with {@link CHAIN_LENGTH} configs and
 * replaced by as many, so every list and `grouped` keep their size. It sorts last (the unfiltered
 * page of 100 never reaches it) and its provider is none of {@link PROVIDERS} (provider lists
 * never include it).
 */
export const CHAIN_USAGE_TYPE = 'zz_chain';
export const CHAIN_LENGTH = 100;
export const CHAIN_PROVIDER = 'chainprov';

/** A seeded config as the benchmarks need it. */
export interface SeededConfig {
  id: string;
  usageType: string;
  priority: number;
}

/** A create body of the API. */
interface CreateBody {
  usageType: string;
  priority: number;
  modelId: string;
  modelName: string;
  provider: string;
  parameters: Record<string, unknown>;
  enabled: boolean;
}

function seedItems(): CreateBody[] {
  const items: CreateBody[] = [];
  USAGE_TYPES.forEach((usageType, u) => {
    for (let priority = 1; priority <= PER_USAGE_TYPE; priority++) {
      const provider = PROVIDERS[(u + priority) % PROVIDERS.length];
      items.push({
        usageType,
        priority,
        modelId: `${provider}/${usageType}-${priority}`,
        modelName: `${usageType} model ${priority}`,
        provider,
        parameters: { temperature: priority / 10, maxTokens: 256 * priority, stop: ['\n\n'] },
        // Priority 1 always enabled (every usage type has an active model); a few disabled.
        enabled: priority === 1 || priority % 4 !== 0,
      });
    }
  });
  for (const [i, item] of chainItems('seed').entries()) {
    items.push({ ...item, usageType: CHAIN_USAGE_TYPE, priority: i + 1, enabled: true });
  }
  return items;
}

/** The items of a {@link CHAIN_LENGTH}-long chain. */
export function chainItems(tag: string): Omit<CreateBody, 'usageType' | 'priority' | 'enabled'>[] {
  return Array.from({ length: CHAIN_LENGTH }, (_, i) => ({
    modelId: `chain/${tag}-${i + 1}`,
    modelName: `Chain ${tag} ${i + 1}`,
    provider: CHAIN_PROVIDER,
    parameters: { rank: i + 1, temperature: 0.2 },
  }));
}

/** The seeded database file and its configs. */
export interface Seed {
  file: string;
  configs: SeededConfig[];
}

/**
 * Creates `dir/seed.duckdb` with the app itself (its migrations, its `schema_migrations`), inserts
 * the dataset through `POST /model-configs/bulk`, reads the configs back and stops the app, which
 * checkpoints the file. Copies of the file ({@link copySeed}) give every server the same rows,
 * ids and timestamps included.
 */
export async function seedDatabase(build: AppBuild, dir: string): Promise<Seed> {
  const file = join(dir, 'seed.duckdb');
  const app = await startAppServer(build, file);
  try {
    const bulk = await fetch(`${app.origin}${API}/model-configs/bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: seedItems() }),
    });
    if (bulk.status !== 201) throw new Error(`Seeding failed: ${bulk.status} ${await bulk.text()}`);
    const list = await fetch(`${app.origin}${API}/model-configs?limit=1000`);
    const { items } = (await list.json()) as { items: SeededConfig[] };
    const configs = items.map(({ id, usageType, priority }) => ({ id, usageType, priority }));
    return { file, configs };
  } finally {
    await app.stop();
  }
}

/** Copies the seeded file (and its WAL, if the app left one) to `target`. */
export function copySeed(seed: Seed, target: string): string {
  copyFileSync(seed.file, target);
  if (existsSync(`${seed.file}.wal`)) copyFileSync(`${seed.file}.wal`, `${target}.wal`);
  return target;
}

/** The seeded config of `usageType` at `priority`. */
export function configAt(seed: Seed, usageType: string, priority: number): SeededConfig {
  const config = seed.configs.find((c) => c.usageType === usageType && c.priority === priority);
  if (!config) throw new Error(`No seeded config at ${usageType}/${priority}`);
  return config;
}
