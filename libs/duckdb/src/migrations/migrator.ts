import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { MigrationError } from '../duckdb.errors';
import type { DuckDbPool } from '../pool/duckdb-pool';
import type { PooledConnection } from '../pool/pooled-connection';

/** One migration file. */
export interface MigrationFile {
  version: number;
  name: string;
  checksum: string;
  sql: string;
}

const FILE_NAME = /^(\d+)[_-]([\w.-]+)\.sql$/;

/** Reads `NNNN_name.sql` files from a folder, in version order. */
export async function readMigrations(directory: string): Promise<MigrationFile[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    throw new MigrationError({ message: `Cannot read the migrations folder: ${String(error)}` });
  }
  const files: MigrationFile[] = [];
  for (const name of names.sort()) {
    const match = FILE_NAME.exec(name);
    if (!match) continue;
    const sql = await readFile(join(directory, name), 'utf8');
    files.push({
      version: Number(match[1]),
      name,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  files.sort((a, b) => a.version - b.version);
  for (let i = 1; i < files.length; i++) {
    if (files[i].version === files[i - 1].version) {
      throw new MigrationError({
        message: `Two migrations share version ${files[i].version}: ${files[i - 1].name} and ${files[i].name}.`,
      });
    }
  }
  return files;
}

/**
 * Applies versioned SQL migrations in order, each in its own transaction, and records them in
 * `schema_migrations` with a SHA-256 checksum. Refuses to start when an applied file has changed.
 *
 * @returns the schema version after migrating (0 when there are none).
 */
export async function migrate(
  pool: DuckDbPool,
  directory: string,
  logger = new Logger('DuckDbMigrations'),
): Promise<number> {
  const files = await readMigrations(directory);
  return pool.withConnection(async (connection) => {
    const applied = await appliedMigrations(connection);
    checkApplied(files, applied, logger);
    for (const file of files.filter((f) => !applied.has(f.version))) {
      await apply(connection, file);
      logger.log(`Applied migration ${file.name}`);
    }
    const [row] = await connection.run(
      'SELECT coalesce(max(version), 0) AS v FROM schema_migrations',
      [],
      'rows',
      CONTEXT,
    );
    return row.v as number;
  });
}

const CONTEXT = { operation: 'migrate' };

interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
}

/** The migrations recorded in `schema_migrations` (created when missing), by version. */
async function appliedMigrations(
  connection: PooledConnection,
): Promise<Map<number, AppliedMigration>> {
  await connection.run(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       version INTEGER PRIMARY KEY,
       name VARCHAR NOT NULL,
       checksum VARCHAR NOT NULL,
       applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp
     )`,
    [],
    'script',
    CONTEXT,
  );
  const rows = await connection.run(
    'SELECT version, name, checksum FROM schema_migrations',
    [],
    'rows',
    CONTEXT,
  );
  return new Map(rows.map((row) => [row.version as number, row as unknown as AppliedMigration]));
}

/** Refuses an applied migration whose file changed; warns of applied ones without a file. */
function checkApplied(
  files: readonly MigrationFile[],
  applied: ReadonlyMap<number, AppliedMigration>,
  logger: Logger,
): void {
  for (const file of files) {
    const record = applied.get(file.version);
    if (record && record.checksum !== file.checksum) {
      throw new MigrationError({
        message:
          `Migration ${file.name} was changed after it was applied (recorded checksum ${record.checksum.slice(0, 12)}…, ` +
          `file ${file.checksum.slice(0, 12)}…). Restore the original file and put the change in a new migration.`,
      });
    }
  }
  for (const version of applied.keys()) {
    if (!files.some((f) => f.version === version)) {
      logger.warn(`Migration version ${version} is recorded in the database but has no file here.`);
    }
  }
}

/** Runs one migration and records it, in one transaction. */
async function apply(connection: PooledConnection, file: MigrationFile): Promise<void> {
  await connection.run('BEGIN TRANSACTION', [], 'script', CONTEXT);
  try {
    await connection.run(file.sql, [], 'script', CONTEXT);
    await connection.run(
      'INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)',
      [file.version, file.name, file.checksum],
      'execute',
      CONTEXT,
    );
    await connection.run('COMMIT', [], 'script', CONTEXT);
  } catch (error) {
    await connection.run('ROLLBACK', [], 'script', CONTEXT).catch(() => undefined);
    throw new MigrationError({
      message: `Migration ${file.name} failed and was rolled back: ${(error as Error).message}`,
    });
  }
}
