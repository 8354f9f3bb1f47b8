import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DuckDbDatabase,
  readMigrations,
  resolveDuckDbOptions,
  type ResolvedDuckDbOptions,
} from '@lib/duckdb';
import { MODEL_CONFIG_SQL } from '../../apps/api/src/model-configs/model-configs.sql';

/** The application's migrations: the benchmark database has exactly the service's schema. */
export const MIGRATIONS_DIR = join(
  __dirname,
  '..',
  '..',
  'apps',
  'api',
  'src',
  'model-configs',
  'migrations',
);

/** Every column the repository selects, in its order: `MODEL_CONFIG_SQL.columns`. */
export const MODEL_CONFIG_COLUMNS = MODEL_CONFIG_SQL.columns;

/** Options of {@link openModelConfigsDb}. */
export interface ModelConfigsDbOptions {
  /** Rows to insert. */
  rows: number;
  /** DuckDB configuration (e.g. `{ threads: '1' }`); default none, as the service. */
  config?: Record<string, string>;
}

/** A temporary DuckDB file with a filled `model_configs` table; `close()` deletes it. */
export interface ModelConfigsDb {
  readonly database: DuckDbDatabase;
  /** The options the database was opened with (library defaults applied). */
  readonly options: ResolvedDuckDbOptions;
  /** Every row's id, in insertion order. */
  readonly ids: readonly string[];
  /** Closes the instance and deletes the temporary folder. */
  close(): void;
}

/**
 * Opens a fresh DuckDB file in a temporary folder, applies the application's migrations and inserts
 * `rows` model configs (unique `(usage_type, priority)`, 20 priorities per usage type), then
 * checkpoints so that reads come from the file, not the WAL.
 */
export async function openModelConfigsDb(options: ModelConfigsDbOptions): Promise<ModelConfigsDb> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-duckdb-'));
  const resolved = resolveDuckDbOptions({
    path: join(dir, 'bench.duckdb'),
    config: options.config,
  });
  let database: DuckDbDatabase | undefined;
  try {
    database = await DuckDbDatabase.open(resolved);
    const connection = await database.instance.connect();
    try {
      for (const migration of await readMigrations(MIGRATIONS_DIR))
        await connection.run(migration.sql);
      await connection.run(seedSql(options.rows));
      await connection.run('CHECKPOINT');
      const reader = await connection.runAndReadAll(
        'SELECT id::VARCHAR AS id FROM model_configs ORDER BY priority, usage_type',
      );
      const ids = reader.getRowsJS().map((row) => String(row[0]));
      const opened = database;
      return {
        database: opened,
        options: resolved,
        ids,
        close: () => {
          opened.instance.closeSync();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } finally {
      connection.closeSync();
    }
  } catch (error) {
    database?.instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function seedSql(rows: number): string {
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`rows must be ≥ 1, got ${rows}`);
  return `INSERT INTO model_configs (${MODEL_CONFIG_COLUMNS})
    SELECT uuid(), 'usage_' || (i // 20), (i % 20) + 1, 'model-' || i, 'Model ' || i,
           ['openai', 'anthropic', 'ollama', 'mistral'][(i % 4) + 1],
           '{"temperature":0.7,"maxTokens":1024,"topP":0.95}', i % 10 <> 0, 1,
           current_timestamp::TIMESTAMP, current_timestamp::TIMESTAMP
    FROM range(${rows}) t(i)`;
}

/**
 * A fixed sequence of ids drawn at random (seeded, so every run and both sides of a comparison
 * read the same ids in the same order). `reset()` rewinds it.
 */
export class IdSequence {
  private readonly sequence: string[];
  private cursor = 0;

  constructor(ids: readonly string[], length: number, seed = 0x5eed) {
    const random = mulberry32(seed);
    this.sequence = Array.from({ length }, () => ids[Math.floor(random() * ids.length)]);
  }

  /** The next id (wrapping around). */
  next(): string {
    const id = this.sequence[this.cursor];
    this.cursor = this.cursor + 1 === this.sequence.length ? 0 : this.cursor + 1;
    return id;
  }

  /** Rewinds to the first id. */
  reset(): void {
    this.cursor = 0;
  }
}

/** A small seeded PRNG returning numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
