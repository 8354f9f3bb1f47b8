import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Inject, Injectable, Logger, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { DuckDbClient } from './duckdb.client';
import { DuckDbDatabase } from './duckdb.database';
import { MigrationError } from './duckdb.errors';
import { DuckDbModule } from './duckdb.module';
import { DuckDbPool } from './pool/duckdb-pool';

let dir: string;
const modules: TestingModule[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'duckdb-module-spec-'));
  Logger.overrideLogger(false);
});

afterEach(async () => {
  for (const moduleRef of modules.splice(0)) await moduleRef.close();
});

afterAll(() => {
  Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']);
  rmSync(dir, { recursive: true, force: true });
});

@Injectable()
class ModelRepository {
  constructor(@Inject(DuckDbClient) private readonly db: DuckDbClient) {}

  names(): Promise<string[]> {
    return this.db
      .query<{ name: string }>('SELECT name FROM models ORDER BY name')
      .then((rows) => rows.map((r) => r.name));
  }
}

@Module({ providers: [ModelRepository], exports: [ModelRepository] })
class ModelsModule {}

function writeMigrations(folder: string): void {
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, '0001_models.sql'),
    'CREATE TABLE models (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL);',
  );
  writeFileSync(
    join(folder, '0002_seed.sql'),
    "INSERT INTO models VALUES (1, 'llama'), (2, 'gpt');",
  );
}

async function compile(imports: Parameters<typeof Test.createTestingModule>[0]['imports']) {
  const moduleRef = await Test.createTestingModule({ imports }).compile();
  modules.push(moduleRef);
  await moduleRef.init();
  return moduleRef;
}

describe('DuckDbModule', () => {
  it('opens the file, runs migrations and serves a global DuckDbClient', async () => {
    const migrations = join(dir, 'migrations-a');
    writeMigrations(migrations);
    const path = join(dir, 'nested', 'deeper', 'app.duckdb');
    const moduleRef = await compile([
      DuckDbModule.forRoot({
        path,
        pool: { min: 2, max: 3 },
        migrations: { directory: migrations },
        isGlobal: true,
      }),
      ModelsModule,
    ]);

    await expect(moduleRef.get(ModelRepository).names()).resolves.toEqual(['gpt', 'llama']);
    const database = moduleRef.get(DuckDbDatabase);
    expect(database.schemaVersion).toBe(2);
    expect(database.file).toBe('app.duckdb');
    expect(database.inMemory).toBe(false);
    expect(database.mode).toBe('pool');
    expect(existsSync(path)).toBe(true);
    expect(moduleRef.get(DuckDbPool).stats()).toMatchObject({
      enabled: true,
      min: 2,
      max: 3,
      size: 2,
      inUse: 0,
    });
  });

  it('drains the pool, checkpoints and closes the file on shutdown', async () => {
    const path = join(dir, 'shutdown.duckdb');
    const moduleRef = await Test.createTestingModule({
      imports: [DuckDbModule.forRoot({ path })],
    }).compile();
    await moduleRef.init();
    const client = moduleRef.get(DuckDbClient);
    const pool = moduleRef.get(DuckDbPool);
    await client.execute('CREATE TABLE kept (n INTEGER)');
    await client.execute('INSERT INTO kept SELECT * FROM range(1000)');

    await moduleRef.close();
    expect(pool.stats()).toMatchObject({ size: 0, idle: 0, inUse: 0 });
    await expect(client.query('SELECT 1')).rejects.toThrow();
    expect(existsSync(`${path}.wal`)).toBe(false);

    // The file is free again and holds the committed rows.
    const reopened = await DuckDBInstance.create(path);
    try {
      const connection = await reopened.connect();
      const reader = await connection.runAndReadAll('SELECT count(*)::INTEGER AS n FROM kept');
      expect(reader.getRowObjects()).toEqual([{ n: 1000 }]);
      connection.closeSync();
    } finally {
      reopened.closeSync();
    }
  });

  it('supports forRootAsync and the single-connection mode', async () => {
    const moduleRef = await compile([
      DuckDbModule.forRootAsync({
        useFactory: async () => ({ path: ':memory:', pool: { enabled: false, max: 8 } }),
      }),
    ]);
    const database = moduleRef.get(DuckDbDatabase);
    expect(database.inMemory).toBe(true);
    expect(database.file).toBe(':memory:');
    expect(database.mode).toBe('single');
    expect(database.schemaVersion).toBe(0);
    expect(moduleRef.get(DuckDbPool).stats()).toMatchObject({ enabled: false, min: 1, max: 1 });
    const client = moduleRef.get(DuckDbClient);
    const values = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        client.queryOne<{ v: number }>('SELECT $1::INTEGER AS v', [i]),
      ),
    );
    expect(values.map((row) => row?.v)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('refuses to start when a migration fails', async () => {
    const migrations = join(dir, 'migrations-bad');
    mkdirSync(migrations);
    writeFileSync(join(migrations, '0001_bad.sql'), 'CREATE TABLE t (n INTEGER); SELEC 1;');
    const moduleRef = await Test.createTestingModule({
      imports: [
        DuckDbModule.forRoot({
          path: join(dir, 'bad.duckdb'),
          migrations: { directory: migrations },
        }),
      ],
    }).compile();
    await expect(moduleRef.init()).rejects.toBeInstanceOf(MigrationError);
    // close() would rethrow the failed init; release the file by hand.
    await moduleRef.get(DuckDbPool).drain();
    moduleRef.get(DuckDbDatabase).instance.closeSync();
  });

  it('rejects invalid options before opening anything', async () => {
    const path = join(dir, 'never', 'created.duckdb');
    await expect(
      Test.createTestingModule({
        imports: [DuckDbModule.forRoot({ path, pool: { min: 4, max: 2 } })],
      }).compile(),
    ).rejects.toThrow(RangeError);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});
