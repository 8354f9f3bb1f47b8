import { randomBytes } from 'node:crypto';
import { type CliRequest, type CliResponse, type InjectingApp, withQuery } from './api-request';
import { CliError, EXIT, UsageError, messageChain } from './errors';

/**
 * How requests reach the API: over HTTP to a running server (`--url`), or into the application
 * built in this process on the database file (direct mode). Both send the same requests, so the
 * tool's output is the same in both.
 */
export interface Transport {
  readonly mode: 'http' | 'direct';
  /** The server's origin or the database file, for messages. */
  readonly target: string;
  send(request: CliRequest): Promise<CliResponse>;
  close(): Promise<void>;
}

const HTTP_TIMEOUT_MS = 120_000;

/** Talks to a running server with `fetch`; the API key (if any) goes in `Authorization`. */
export class HttpTransport implements Transport {
  readonly mode = 'http';
  private readonly base: string;

  constructor(
    readonly target: string,
    private readonly apiKey?: string,
  ) {
    let parsed: URL;
    try {
      parsed = new URL(target);
    } catch {
      throw new UsageError(
        `--url must be an http(s) URL such as http://127.0.0.1:3000, got "${target}"`,
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new UsageError(`--url must be an http or https URL, got "${target}"`);
    }
    this.base = parsed.href.replace(/\/+$/, '');
  }

  async send(request: CliRequest): Promise<CliResponse> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'model-configs-cli',
      ...request.headers,
    };
    if (request.body !== undefined)
      headers['content-type'] = request.contentType ?? 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let response: Response;
    try {
      response = await fetch(this.base + withQuery(request.path, request.query), {
        method: request.method,
        headers,
        body: request.body,
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
    } catch (error) {
      throw new CliError(`Cannot reach ${this.target}: ${reasonOf(error)}`, EXIT.failure);
    }
    const responseHeaders: CliResponse['headers'] = {};
    response.headers.forEach((value, name) => (responseHeaders[name] = value));
    return { status: response.status, headers: responseHeaders, text: await response.text() };
  }

  async close(): Promise<void> {
    // fetch keeps no state that needs closing.
  }
}

/** The most specific reason of a fetch failure (`ECONNREFUSED`, a timeout, …). */
function reasonOf(error: unknown): string {
  const cause =
    error instanceof Error ? (error.cause as Partial<NodeJS.ErrnoException>) : undefined;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  if (error instanceof Error && error.name === 'TimeoutError') {
    return `no answer within ${HTTP_TIMEOUT_MS / 1000} s`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The environment the in-process application gets in direct mode. */
export function directEnv(base: NodeJS.ProcessEnv, dbPath: string | undefined, key: string) {
  const env: NodeJS.ProcessEnv = {
    ...base,
    LOG_LEVEL: 'silent',
    CACHE_STORE: 'memory',
    // The key is this process's own; its label is the actor the history records.
    API_KEYS: `cli:${key}`,
  };
  delete env.API_KEY;
  delete env.RATE_LIMIT_PER_MINUTE;
  if (dbPath !== undefined) env.DUCKDB_PATH = dbPath;
  return env;
}

/** Direct mode: the real application on the database file, in this process, not listening. */
export class DirectTransport implements Transport {
  readonly mode = 'direct';

  private constructor(
    readonly target: string,
    private readonly app: InjectingApp,
    private readonly authorization: string,
  ) {}

  /** Builds and initialises the application (migrations run) on `dbPath` (or `DUCKDB_PATH`). */
  static async open(
    env: NodeJS.ProcessEnv,
    dbPath: string | undefined,
    urlHint: string,
  ): Promise<DirectTransport> {
    const key = randomBytes(16).toString('hex');
    const appEnv = directEnv(env, dbPath, key);
    const target = appEnv.DUCKDB_PATH ?? './data/model-configs.duckdb';
    // Loaded only here: HTTP mode never pays for Nest and DuckDB.
    const { openDirectApp } = await import('./direct-app');
    try {
      return new DirectTransport(target, await openDirectApp(appEnv), `Bearer ${key}`);
    } catch (error) {
      throw openFailure(error, target, urlHint);
    }
  }

  send(request: CliRequest): Promise<CliResponse> {
    return this.app.inject({
      ...request,
      headers: { ...request.headers, authorization: this.authorization },
    });
  }

  /** Closes the application: drains the pool, checkpoints, and releases the file. */
  close(): Promise<void> {
    return this.app.close();
  }
}

/** DuckDB's messages when another process holds the file's lock. */
const LOCKED = /could not set lock|conflicting lock|lock on file/i;

/** What a failure to open the application means to the user. */
function openFailure(error: unknown, target: string, urlHint: string): CliError {
  if (error instanceof Error && error.name === 'ConfigError') return new UsageError(error.message);
  const chain = messageChain(error);
  if (LOCKED.test(chain)) {
    return new CliError(
      `The database ${target} is in use by a running server (it holds the file's lock). ` +
        `Stop the server, or send the command to it with --url (e.g. --url ${urlHint}).`,
      EXIT.locked,
    );
  }
  const first = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  return new CliError(`Cannot open ${target}: ${first}`, EXIT.failure);
}
