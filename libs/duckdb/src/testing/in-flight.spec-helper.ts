import {
  type DuckDBConnection,
  type DuckDBMaterializedResult,
  type DuckDBPreparedStatement,
  DuckDBResultReader,
} from '@duckdb/node-api';

/** What {@link probeInFlight} observed on one driver connection. */
export interface InFlightProbe {
  /** Statements (run, prepare, execute) running on the connection right now. */
  current: number;
  /** The most statements ever seen running on the connection at once. */
  max: number;
  /** Statements started on the connection since the probe was attached. */
  started: number;
  /** Times parameters were bound or cleared while a statement was running on the connection. */
  bindsDuringStatement: number;
}

type Track = <T>(work: () => Promise<T>) => Promise<T>;

/**
 * Test-only instrumentation of a real driver connection: wraps `run`, `prepare` and the prepared
 * statements it returns, and counts how many statements are in flight at once. Nothing is mocked;
 * every call still goes to DuckDB.
 */
export function probeInFlight(raw: DuckDBConnection): InFlightProbe {
  const probe: InFlightProbe = { current: 0, max: 0, started: 0, bindsDuringStatement: 0 };
  const track: Track = async (work) => {
    probe.current++;
    probe.started++;
    probe.max = Math.max(probe.max, probe.current);
    try {
      return await work();
    } finally {
      probe.current--;
    }
  };
  const run = raw.run.bind(raw);
  raw.run = (...args: Parameters<DuckDBConnection['run']>) => track(() => run(...args));
  const prepare = raw.prepare.bind(raw);
  raw.prepare = async (sql: string) => {
    const statement = await track(() => prepare(sql));
    instrumentStatement(statement, probe, track);
    return statement;
  };
  return probe;
}

function instrumentStatement(
  statement: DuckDBPreparedStatement,
  probe: InFlightProbe,
  track: Track,
): void {
  const run = statement.run.bind(statement) as () => Promise<DuckDBMaterializedResult>;
  statement.run = () => track(run);
  statement.runAndReadAll = () =>
    track(async () => {
      const reader = new DuckDBResultReader(await run());
      await reader.readAll();
      return reader;
    });
  const bind = statement.bind.bind(statement);
  statement.bind = (...args: Parameters<DuckDBPreparedStatement['bind']>) => {
    if (probe.current > 0) probe.bindsDuringStatement++;
    bind(...args);
  };
  const clearBindings = statement.clearBindings.bind(statement);
  statement.clearBindings = () => {
    if (probe.current > 0) probe.bindsDuringStatement++;
    clearBindings();
  };
}
