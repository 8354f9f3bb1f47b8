import { ConfigError, loadConfig } from './app-config';

describe('loadConfig: HTTP_REQUEST_TIMEOUT_MS', () => {
  it('defaults to 10 s, well within the 30 s the contract allows', () => {
    expect(loadConfig({}).requestTimeoutMs).toBe(10_000);
  });

  it('takes a value in 1000..120000', () => {
    expect(loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '2500' }).requestTimeoutMs).toBe(2500);
  });

  it.each(['0', '999', '120001', '10s', '-5', '1e4'])(
    'refuses %s, naming the variable',
    (value) => {
      expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT_MS: value })).toThrow(ConfigError);
      expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT_MS: value })).toThrow(
        /HTTP_REQUEST_TIMEOUT_MS/,
      );
    },
  );
});

describe('loadConfig: DUCKDB_THREADS', () => {
  it('defaults to one thread', () => {
    expect(loadConfig({}).duckdb.threads).toBe(1);
  });

  it('takes a value in 1..256', () => {
    expect(loadConfig({ DUCKDB_THREADS: '4' }).duckdb.threads).toBe(4);
  });

  it.each(['0', '257', 'two', '1.5'])('refuses %s, naming the variable', (value) => {
    expect(() => loadConfig({ DUCKDB_THREADS: value })).toThrow(/DUCKDB_THREADS/);
  });
});

describe('loadConfig: DUCKDB_CHECKPOINT_THRESHOLD', () => {
  it("defaults to DuckDB's own 16MiB", () => {
    expect(loadConfig({}).duckdb.checkpointThreshold).toBe('16MiB');
  });

  it('takes a size of at least 1MiB, as DuckDB reads sizes', () => {
    expect(loadConfig({ DUCKDB_CHECKPOINT_THRESHOLD: '64MiB' }).duckdb.checkpointThreshold).toBe(
      '64MiB',
    );
    expect(loadConfig({ DUCKDB_CHECKPOINT_THRESHOLD: '1MiB' }).duckdb.checkpointThreshold).toBe(
      '1MiB',
    );
  });

  it.each(['1MB', '512KiB', '10%', 'big', '64'])('refuses %s, naming the variable', (value) => {
    expect(() => loadConfig({ DUCKDB_CHECKPOINT_THRESHOLD: value })).toThrow(ConfigError);
    expect(() => loadConfig({ DUCKDB_CHECKPOINT_THRESHOLD: value })).toThrow(
      /DUCKDB_CHECKPOINT_THRESHOLD/,
    );
  });
});
