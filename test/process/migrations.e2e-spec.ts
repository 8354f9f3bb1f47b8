import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  cleanupServers,
  listAllConfigs,
  makeTempDir,
  spawnServer,
  startServer,
  stopServer,
  waitForExit,
} from './server-process';
import type { ModelConfig } from '../support/http';

/**
 * Migrations: applied once and recorded with a checksum; a recorded migration whose checksum no
 * longer matches its file stops startup with a message naming the file.
 */

const MIGRATION_FILE = '0001_create_model_configs.sql';

interface MigrationRow {
  version: number;
  name: string;
  checksum: string;
}

/** Runs `fn` on a connection to the (stopped) database file, then closes everything. */
async function withDatabase<T>(
  path: string,
  fn: (run: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>,
): Promise<T> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    return await fn(async (sql) => (await connection.runAndReadAll(sql)).getRowObjectsJson());
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('migration checksums', () => {
  jest.setTimeout(60_000);

  afterAll(async () => {
    await cleanupServers();
  });

  it('refuses to start when an applied migration was changed, naming the file', async () => {
    const dbPath = join(makeTempDir(), 'migrations.duckdb');

    const first = await startServer({ dbPath });
    const seeded = await listAllConfigs(first.baseUrl);
    expect(seeded).toHaveLength(9);
    expect(first.stdout()).toContain(`Applied migration ${MIGRATION_FILE}`);
    await stopServer(first, 'SIGTERM');

    const original = await withDatabase(dbPath, async (run) => {
      const rows = (await run(
        'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
      )) as unknown as MigrationRow[];
      await run(`UPDATE schema_migrations SET checksum = 'x' WHERE name = '${MIGRATION_FILE}'`);
      return rows;
    });
    expect(original.map((row) => row.name)).toEqual([
      MIGRATION_FILE,
      '0002_create_model_config_history.sql',
      '0003_create_model_config_events.sql',
      '0004_add_history_from_usage_type.sql',
    ]);
    expect(original[0].checksum).toMatch(/^[0-9a-f]{64}$/);

    const tampered = await spawnServer({ dbPath });
    const exit = await waitForExit(tampered, 30_000);
    process.stdout.write(
      `tampered checksum: exit ${JSON.stringify(exit)}, stderr: ${tampered.stderr().trim()}\n`,
    );
    expect(exit?.code).not.toBe(0);
    expect(exit?.code).not.toBeNull();
    expect(tampered.stderr()).toContain(MIGRATION_FILE);
    expect(tampered.stderr()).toMatch(/changed/i);
    expect(tampered.output()).not.toContain('Serving on');

    // With the recorded checksum restored the same file starts again, data intact: the refusal
    // came from the checksum alone and did not touch the database.
    await withDatabase(dbPath, async (run) => {
      await run(
        `UPDATE schema_migrations SET checksum = '${original[0].checksum}' WHERE name = '${MIGRATION_FILE}'`,
      );
    });
    const restored = await startServer({ dbPath });
    const after: ModelConfig[] = await listAllConfigs(restored.baseUrl);
    expect(after).toEqual(seeded);
    expect(restored.stdout()).not.toContain(`Applied migration ${MIGRATION_FILE}`);
    await stopServer(restored, 'SIGTERM');
  });
});
