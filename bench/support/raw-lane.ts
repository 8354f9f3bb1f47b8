import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import type { DuckDbDatabase } from '@lib/duckdb';

/**
 * One pinned raw connection with a prepared one-row `UPDATE` (one `INTEGER` parameter, the row's
 * id), run in a hand-written transaction; callers that share it are queued in arrival order (one
 * statement at a time per connection), as the pool queues them: the transactions benchmark's
 * ceiling.
 */
export class RawLane {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  private constructor(
    private readonly connection: DuckDBConnection,
    private readonly update: DuckDBPreparedStatement,
  ) {}

  /** Opens a connection of `database` and prepares `updateSql` on it. */
  static async open(database: DuckDbDatabase, updateSql: string): Promise<RawLane> {
    const connection = await database.instance.connect();
    try {
      return new RawLane(connection, await connection.prepare(updateSql));
    } catch (error) {
      connection.closeSync();
      throw error;
    }
  }

  /** Runs one transaction that bumps row `id`, after the ones queued before it. */
  bump(id: number): Promise<void> {
    if (this.waiting === 0) {
      // Nobody ahead: skip the queue, as the pool lends an idle connection at once.
      this.waiting++;
      const run = this.transaction(id).finally(() => this.waiting--);
      this.tail = run.catch(() => undefined);
      return run;
    }
    this.waiting++;
    const run = this.tail.then(() => this.transaction(id)).finally(() => this.waiting--);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Destroys the statement and closes the connection. */
  close(): void {
    this.update.destroySync();
    this.connection.closeSync();
  }

  private async transaction(id: number): Promise<void> {
    await this.connection.run('BEGIN TRANSACTION');
    try {
      this.update.bindInteger(1, id);
      const { rowsChanged } = await this.update.run();
      if (rowsChanged !== 1) throw new Error(`expected one row changed, got ${rowsChanged}`);
    } catch (error) {
      await this.connection.run('ROLLBACK');
      throw error;
    }
    await this.connection.run('COMMIT');
  }
}
