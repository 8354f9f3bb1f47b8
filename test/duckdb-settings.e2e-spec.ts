import { DuckDbClient } from '@lib/duckdb';
import { type TestApp, startTestApp } from './support/test-app';

jest.setTimeout(60_000);

/** The DuckDB settings the service opens its file with, read back from DuckDB itself. */
describe('DuckDB settings of the running service', () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  const settings = async (env: Record<string, string>) => {
    const app = await startTestApp(env);
    apps.push(app);
    return app.app
      .get(DuckDbClient)
      .queryOne<{ threads: string; memory: string; checkpoint: string }>(
        `SELECT current_setting('threads')::VARCHAR AS threads,
           current_setting('memory_limit') AS memory,
           current_setting('checkpoint_threshold') AS checkpoint`,
      );
  };

  it("runs DuckDB on one thread with a 256 MiB memory limit and DuckDB's checkpoint threshold by default", async () => {
    expect(await settings({})).toEqual({
      threads: '1',
      memory: '256.0 MiB',
      checkpoint: '16.0 MiB',
    });
  });

  it('takes DUCKDB_THREADS, DUCKDB_MEMORY_LIMIT and DUCKDB_CHECKPOINT_THRESHOLD', async () => {
    const set = await settings({
      DUCKDB_THREADS: '2',
      DUCKDB_MEMORY_LIMIT: '64MiB',
      DUCKDB_CHECKPOINT_THRESHOLD: '48MiB',
    });
    expect(set).toEqual({ threads: '2', memory: '64.0 MiB', checkpoint: '48.0 MiB' });
  });
});
