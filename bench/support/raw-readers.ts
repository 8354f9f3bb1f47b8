import {
  type DuckDBConnection,
  type DuckDBInstance,
  type DuckDBPreparedStatement,
  type JS,
  JSDuckDBValueConverter,
} from '@duckdb/node-api';

/** A row as `getRowObjectsJS()` returns it. */
export type JsRow = Record<string, JS>;

/**
 * One caller's own driver connection and prepared statement, with one `VARCHAR` parameter: the
 * baselines the library is compared with. Never share one between concurrent callers.
 */
export interface RawReader {
  /** Binds `param` to `$1`, runs the statement and returns its rows. */
  read(param: string): Promise<JsRow[]>;
  /** Destroys the statement and closes the connection. */
  close(): void;
}

/** How a {@link RawReader} turns an executed statement into row objects. */
export type RawReadPath = 'chunks' | 'readAll';

/**
 * Opens a connection, prepares `sql` on it, and reads rows by one of two driver paths that return
 * the same row objects:
 *
 * - `chunks`: `run()` (a materialized result) and its chunks read synchronously with `getChunk(i)`,
 *   converted by `JSDuckDBValueConverter`: one threadpool round trip per statement, the cheapest.
 * - `readAll`: `runAndReadAll()` + `getRowObjectsJS()`, the path `PooledConnection` uses: it also
 *   fetches each chunk, and the final empty one, through the threadpool.
 */
export async function openRawReader(
  instance: DuckDBInstance,
  sql: string,
  path: RawReadPath,
): Promise<RawReader> {
  const connection: DuckDBConnection = await instance.connect();
  let statement: DuckDBPreparedStatement;
  try {
    statement = await connection.prepare(sql);
  } catch (error) {
    connection.closeSync();
    throw error;
  }
  const read =
    path === 'chunks'
      ? async (param: string) => {
          statement.bindVarchar(1, param);
          return readChunks(statement);
        }
      : async (param: string) => {
          statement.bindVarchar(1, param);
          return (await statement.runAndReadAll()).getRowObjectsJS();
        };
  return {
    read,
    close: () => {
      statement.destroySync();
      connection.closeSync();
    },
  };
}

async function readChunks(statement: DuckDBPreparedStatement): Promise<JsRow[]> {
  const result = await statement.run();
  const names = result.deduplicatedColumnNames();
  const rows: JsRow[] = [];
  const chunkCount = result.chunkCount;
  for (let c = 0; c < chunkCount; c++) {
    const chunk = result.getChunk(c);
    const rowCount = chunk.rowCount;
    for (let r = 0; r < rowCount; r++) {
      const row: JsRow = {};
      chunk.visitRowValues(r, (value, _row, column, type) => {
        row[names[column]] = JSDuckDBValueConverter(value, type, JSDuckDBValueConverter);
      });
      rows.push(row);
    }
  }
  return rows;
}

/** One caller's own connection and prepared statement with a fixed set of parameters. */
export interface RawQuery {
  /** Runs the statement (the cheapest driver path, as `chunks` above) and returns its rows. */
  read(): Promise<JsRow[]>;
  /** Destroys the statement and closes the connection. */
  close(): void;
}

/**
 * Opens a connection and prepares `sql`; every `read()` lets `bind` set its parameters (as a
 * caller with fresh values must) and runs it: the raw ceiling for one query with any number and
 * type of parameters.
 */
export async function openRawQuery(
  instance: DuckDBInstance,
  sql: string,
  bind: (statement: DuckDBPreparedStatement) => void,
): Promise<RawQuery> {
  const connection: DuckDBConnection = await instance.connect();
  let statement: DuckDBPreparedStatement;
  try {
    statement = await connection.prepare(sql);
  } catch (error) {
    connection.closeSync();
    throw error;
  }
  return {
    read: () => {
      bind(statement);
      return readChunks(statement);
    },
    close: () => {
      statement.destroySync();
      connection.closeSync();
    },
  };
}
