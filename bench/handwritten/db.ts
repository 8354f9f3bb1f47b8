import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
} from '@duckdb/node-api';

/** A statement parameter. */
export type Param = string | number | boolean | null;
/** A row as the driver's JS conversion gives it (TIMESTAMP as Date, JSON as text, BIGINT as bigint). */
export type Row = Record<string, unknown>;

/** The service's own schema, read from its migration (the same table, indexes and checks). */
const MIGRATION = join(
  __dirname,
  '..',
  '..',
  'apps',
  'api',
  'src',
  'model-configs',
  'migrations',
  '0001_create_model_configs.sql',
);

/**
 * The DuckDB settings the service runs with: its `memory_limit`, and the two optimizers that make
 * a reused prepared statement return wrong rows after the data changed (DuckDB 1.5), off.
 */
const DUCKDB_CONFIG = {
  memory_limit: '256MiB',
  disabled_optimizers: 'compressed_materialization,statistics_propagation',
};

/** Write-write conflicts (`Conflict on update!`) are rerun this many times. */
const CONFLICT_RETRIES = 3;

/** One connection with its prepared statements; used by one request at a time. */
export class Connection {
  private readonly statements = new Map<string, DuckDBPreparedStatement>();

  constructor(readonly raw: DuckDBConnection) {}

  /** Runs `sql` (prepared once per connection) and returns its rows. */
  async query(sql: string, params: readonly Param[] = []): Promise<Row[]> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = await this.raw.prepare(sql);
      this.statements.set(sql, statement);
    }
    if (params.length > 0) statement.bind([...params]);
    const result = await statement.run();
    return result.getRowObjectsJS();
  }
}

/** A DuckDB file, a few connections lent one request at a time, and transactions. */
export class Db {
  private readonly idle: Connection[];
  private readonly waiting: ((connection: Connection) => void)[] = [];

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly all: Connection[],
  ) {
    this.idle = [...all];
  }

  /** Opens `path` with `connections` connections; creates the table on a fresh file. */
  static async open(path: string, connections: number): Promise<Db> {
    const instance = await DuckDBInstance.create(path, DUCKDB_CONFIG);
    const all: Connection[] = [];
    for (let i = 0; i < connections; i++) all.push(new Connection(await instance.connect()));
    const [row] = await all[0].query(
      "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'model_configs'",
    );
    if (Number(row.n) === 0) await all[0].raw.run(readFileSync(MIGRATION, 'utf8'));
    return new Db(instance, all);
  }

  /** Runs `fn` with a connection of its own. */
  async use<T>(fn: (connection: Connection) => Promise<T>): Promise<T> {
    const connection =
      this.idle.pop() ?? (await new Promise<Connection>((resolve) => this.waiting.push(resolve)));
    try {
      return await fn(connection);
    } finally {
      const next = this.waiting.shift();
      if (next) next(connection);
      else this.idle.push(connection);
    }
  }

  /** Runs `fn` between BEGIN and COMMIT; rolls back on any error; reruns write-write conflicts. */
  async transaction<T>(fn: (connection: Connection) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.use(async (connection) => {
          await connection.raw.run('BEGIN TRANSACTION');
          try {
            const result = await fn(connection);
            await connection.raw.run('COMMIT');
            return result;
          } catch (error) {
            await connection.raw.run('ROLLBACK').catch(() => undefined);
            throw error;
          }
        });
      } catch (error) {
        if (attempt >= CONFLICT_RETRIES || !isConflict(error)) throw error;
        await sleep(2 + Math.random() * 8 * (attempt + 1));
      }
    }
  }

  /** Closes every connection and the database. */
  close(): void {
    for (const connection of this.all) connection.raw.closeSync();
    this.instance.closeSync();
  }
}

/** A write-write conflict between two transactions (worth rerunning). */
function isConflict(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /conflict/i.test(message) && !/constraint/i.test(message);
}

/** A unique-key violation: another config holds that `(usageType, priority)` slot. */
export function isUniqueViolation(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /duplicate key|unique constraint|primary key/i.test(message);
}
