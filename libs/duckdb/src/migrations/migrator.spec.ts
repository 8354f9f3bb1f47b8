import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { DuckDbClient } from '../duckdb.client';
import { DuckDbDatabase } from '../duckdb.database';
import { MigrationError } from '../duckdb.errors';
import { resolveDuckDbOptions } from '../duckdb.options';
import { DuckDbPool } from '../pool/duckdb-pool';
import { migrate, readMigrations } from './migrator';

let dir: string;
let counter = 0;
const opened: { db: DuckDbDatabase; pool: DuckDbPool }[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'duckdb-migrator-spec-'));
});

afterEach(async () => {
  for (const { db, pool } of opened.splice(0)) {
    await Promise.race([pool.drain(), new Promise((resolve) => setTimeout(resolve, 1000))]);
    db.instance.closeSync();
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Fixture {
  pool: DuckDbPool;
  client: DuckDbClient;
  migrations: string;
  logger: Logger;
  applied: string[];
  warnings: string[];
  write: (name: string, sql: string) => void;
}

async function fixture(): Promise<Fixture> {
  const id = ++counter;
  const options = resolveDuckDbOptions({ path: join(dir, `migrate-${id}.duckdb`) });
  const db = await DuckDbDatabase.open(options);
  const pool = new DuckDbPool(db.instance, {
    ...options.pool,
    queryTimeoutMs: options.queryTimeoutMs,
    statementCacheSize: options.statementCacheSize,
  });
  await pool.start();
  opened.push({ db, pool });
  const migrations = join(dir, `migrations-${id}`);
  mkdirSync(migrations);
  const logger = new Logger('MigratorSpec');
  const applied: string[] = [];
  const warnings: string[] = [];
  jest.spyOn(logger, 'log').mockImplementation((message: unknown) => {
    applied.push(String(message));
  });
  jest.spyOn(logger, 'warn').mockImplementation((message: unknown) => {
    warnings.push(String(message));
  });
  return {
    pool,
    client: new DuckDbClient(pool),
    migrations,
    logger,
    applied,
    warnings,
    write: (name, sql) => writeFileSync(join(migrations, name), sql),
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function tableExists(client: DuckDbClient, name: string): Promise<boolean> {
  const row = await client.queryOne<{ n: number }>(
    `SELECT count(*) AS n FROM information_schema.tables WHERE table_name = $1`,
    [name],
  );
  return row?.n === 1;
}

const V1 = 'CREATE TABLE providers (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL);\n';
const V2 =
  "INSERT INTO providers VALUES (1, 'ollama');\nINSERT INTO providers VALUES (2, 'openai');\n";
const V10 =
  "ALTER TABLE providers ADD COLUMN region VARCHAR;\nUPDATE providers SET region = 'eu';\n";

describe('migrate', () => {
  it('applies files in numeric version order and records each with its checksum', async () => {
    const f = await fixture();
    // Lexical order would be 1, 10, 2, and 10 needs the table of 1 and the rows of 2.
    f.write('10_add_region.sql', V10);
    f.write('0001_create_providers.sql', V1);
    f.write('2-seed.sql', V2);

    await expect(migrate(f.pool, f.migrations, f.logger)).resolves.toBe(10);

    await expect(
      f.client.query('SELECT id, name, region FROM providers ORDER BY id'),
    ).resolves.toEqual([
      { id: 1, name: 'ollama', region: 'eu' },
      { id: 2, name: 'openai', region: 'eu' },
    ]);
    const records = await f.client.query<{
      version: number;
      name: string;
      checksum: string;
      applied_at: string;
    }>('SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version');
    expect(records.map(({ version, name, checksum }) => ({ version, name, checksum }))).toEqual([
      { version: 1, name: '0001_create_providers.sql', checksum: sha256(V1) },
      { version: 2, name: '2-seed.sql', checksum: sha256(V2) },
      { version: 10, name: '10_add_region.sql', checksum: sha256(V10) },
    ]);
    for (const record of records) {
      expect(Number.isNaN(Date.parse(record.applied_at))).toBe(false);
    }
    expect(f.applied).toEqual([
      'Applied migration 0001_create_providers.sql',
      'Applied migration 2-seed.sql',
      'Applied migration 10_add_region.sql',
    ]);
    expect(f.pool.stats()).toMatchObject({ inUse: 0 });
  });

  it('applies nothing when run again, and only new files later', async () => {
    const f = await fixture();
    f.write('0001_create_providers.sql', V1);
    f.write('0002_seed.sql', V2);
    await expect(migrate(f.pool, f.migrations, f.logger)).resolves.toBe(2);
    f.applied.length = 0;

    await expect(migrate(f.pool, f.migrations, f.logger)).resolves.toBe(2);
    expect(f.applied).toEqual([]);
    await expect(f.client.queryOne('SELECT count(*) AS n FROM providers')).resolves.toEqual({
      n: 2,
    });
    await expect(f.client.queryOne('SELECT count(*) AS n FROM schema_migrations')).resolves.toEqual(
      { n: 2 },
    );

    f.write('0003_add_region.sql', V10);
    await expect(migrate(f.pool, f.migrations, f.logger)).resolves.toBe(3);
    expect(f.applied).toEqual(['Applied migration 0003_add_region.sql']);
    await expect(f.client.queryOne('SELECT count(*) AS n FROM schema_migrations')).resolves.toEqual(
      { n: 3 },
    );
  });

  it('refuses to run when an applied file has changed, and names the file', async () => {
    const f = await fixture();
    f.write('0001_create_providers.sql', V1);
    f.write('0002_seed.sql', V2);
    await migrate(f.pool, f.migrations, f.logger);

    f.write('0002_seed.sql', V2 + "INSERT INTO providers VALUES (3, 'sneaky');\n");
    f.write('0003_add_region.sql', V10);
    const error = await migrate(f.pool, f.migrations, f.logger).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).message).toContain('0002_seed.sql');
    expect((error as MigrationError).message).toContain(sha256(V2).slice(0, 12));
    // Nothing ran: neither the changed file nor the pending one.
    await expect(f.client.queryOne('SELECT count(*) AS n FROM providers')).resolves.toEqual({
      n: 2,
    });
    await expect(
      f.client.queryOne(
        `SELECT count(*) AS n FROM information_schema.columns WHERE column_name = 'region'`,
      ),
    ).resolves.toEqual({ n: 0 });
    expect(f.pool.stats()).toMatchObject({ inUse: 0 });
  });

  it('rolls back a failing migration completely and names it', async () => {
    const f = await fixture();
    f.write('0001_create_providers.sql', V1);
    const broken =
      'CREATE TABLE models (id INTEGER PRIMARY KEY);\n' +
      'INSERT INTO models VALUES (1);\n' +
      "INSERT INTO providers VALUES (9, 'half-done');\n" +
      "INSERT INTO models VALUES ('not a number');\n";
    f.write('0002_create_models.sql', broken);
    f.write('0003_add_region.sql', V10);

    const error = await migrate(f.pool, f.migrations, f.logger).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).message).toContain('0002_create_models.sql');
    expect((error as MigrationError).message).toMatch(/rolled back/);

    await expect(tableExists(f.client, 'models')).resolves.toBe(false);
    await expect(tableExists(f.client, 'providers')).resolves.toBe(true);
    await expect(f.client.queryOne('SELECT count(*) AS n FROM providers')).resolves.toEqual({
      n: 0,
    });
    await expect(
      f.client.query('SELECT version FROM schema_migrations ORDER BY version'),
    ).resolves.toEqual([{ version: 1 }]);
    // The migration after the failed one did not run.
    await expect(
      f.client.queryOne(
        `SELECT count(*) AS n FROM information_schema.columns WHERE column_name = 'region'`,
      ),
    ).resolves.toEqual({ n: 0 });

    // Fixed, it applies on the next start.
    f.write('0002_create_models.sql', 'CREATE TABLE models (id INTEGER PRIMARY KEY);\n');
    await expect(migrate(f.pool, f.migrations, f.logger)).resolves.toBe(3);
    await expect(tableExists(f.client, 'models')).resolves.toBe(true);
  });

  it('returns 0 for an empty folder and creates the bookkeeping table', async () => {
    const f = await fixture();
    f.write('README.md', '# not a migration');
    await expect(migrate(f.pool, f.migrations, f.logger)).resolves.toBe(0);
    await expect(tableExists(f.client, 'schema_migrations')).resolves.toBe(true);
  });

  it('warns about a recorded version whose file is gone', async () => {
    const f = await fixture();
    f.write('0001_create_providers.sql', V1);
    f.write('0002_seed.sql', V2);
    await migrate(f.pool, f.migrations, f.logger);
    unlinkSync(join(f.migrations, '0002_seed.sql'));
    await expect(migrate(f.pool, f.migrations, f.logger)).resolves.toBe(2);
    expect(f.warnings).toHaveLength(1);
    expect(f.warnings[0]).toContain('version 2');
  });

  it('rejects with MigrationError when the folder is missing', async () => {
    const f = await fixture();
    await expect(
      migrate(f.pool, join(f.migrations, 'does-not-exist'), f.logger),
    ).rejects.toBeInstanceOf(MigrationError);
  });
});

describe('readMigrations', () => {
  let folder: string;

  beforeEach(() => {
    folder = join(dir, `read-${++counter}`);
    mkdirSync(folder);
  });

  it('reads NNNN_name.sql files in version order and skips anything else', async () => {
    writeFileSync(join(folder, '0003_c.sql'), 'SELECT 3;');
    writeFileSync(join(folder, '1_a.sql'), 'SELECT 1;');
    writeFileSync(join(folder, '0002-b.v2.sql'), 'SELECT 2;');
    writeFileSync(join(folder, 'notes.sql'), 'SELECT 0;');
    writeFileSync(join(folder, '0004_d.sql.bak'), 'SELECT 4;');
    writeFileSync(join(folder, 'README.md'), '#');
    const files = await readMigrations(folder);
    expect(files.map((f) => [f.version, f.name])).toEqual([
      [1, '1_a.sql'],
      [2, '0002-b.v2.sql'],
      [3, '0003_c.sql'],
    ]);
    expect(files[0]).toEqual({
      version: 1,
      name: '1_a.sql',
      sql: 'SELECT 1;',
      checksum: sha256('SELECT 1;'),
    });
  });

  it('rejects two files with the same version', async () => {
    writeFileSync(join(folder, '0001_a.sql'), 'SELECT 1;');
    writeFileSync(join(folder, '1_b.sql'), 'SELECT 1;');
    const error = await readMigrations(folder).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toContain('0001_a.sql');
    expect((error as Error).message).toContain('1_b.sql');
  });
});
