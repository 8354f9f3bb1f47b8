import { resolve } from 'node:path';
import { type CliRequest, type CliResponse, parseJson } from './api-request';
import { apiFailureOf } from './errors';
import { type Palette, colorWanted, palette } from './format';
import { withProgress } from './progress';
import { DirectTransport, HttpTransport, type Transport } from './transport';

/** The options every command accepts (before or after the command name). */
export interface GlobalOptions {
  url?: string;
  apiKey?: string;
  db?: string;
  json?: boolean;
  color?: boolean;
}

/** A 2xx answer with its parsed JSON body (undefined when the body is not JSON). */
export interface OkResponse<T> extends CliResponse {
  body: T;
}

/**
 * What a command works with: the global options, the transport (opened on first use, closed by
 * main), stdout with colours, and paths as the user meant them.
 */
export class CliContext {
  readonly colors: Palette;
  private transport?: Promise<Transport>;

  constructor(
    readonly options: GlobalOptions,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.colors = palette(colorWanted(options.color, env, process.stdout.isTTY === true));
  }

  /** True in direct mode (no `--url`): the tool opens the database file itself. */
  get direct(): boolean {
    return this.options.url === undefined || this.options.url === '';
  }

  /** The directory the user ran the command in (npm runs scripts in the package root). */
  get userCwd(): string {
    const viaNpmScript = this.env.npm_lifecycle_event === 'cli' && this.env.INIT_CWD;
    return viaNpmScript ? (this.env.INIT_CWD as string) : process.cwd();
  }

  /** A path given on the command line, resolved against the user's directory. */
  userPath(path: string): string {
    return resolve(this.userCwd, path);
  }

  /** The database file of direct mode: `--db`, else `DUCKDB_PATH` (or the app's default). */
  get dbPath(): string | undefined {
    return this.options.db === undefined ? undefined : this.userPath(this.options.db);
  }

  /** The transport, opened once: direct mode opens the database (migrations run). */
  open(): Promise<Transport> {
    this.transport ??= this.direct
      ? withProgress(
          'opening the database',
          () => DirectTransport.open(this.env, this.dbPath, this.urlHint()),
          { immediate: true },
        )
      : Promise.resolve(new HttpTransport(this.options.url as string, this.options.apiKey));
    return this.transport;
  }

  /** Sends `request`; a non-2xx answer throws its `code` and `message` (exit code 1). */
  async call<T>(request: CliRequest, label = 'waiting for the server'): Promise<OkResponse<T>> {
    const response = await this.send(request, label);
    if (response.status < 200 || response.status >= 300) {
      throw apiFailureOf(response.status, response.text);
    }
    return { ...response, body: parseJson(response.text) as T };
  }

  /** Sends `request` and returns the answer whatever its status. */
  async send(request: CliRequest, label = 'waiting for the server'): Promise<CliResponse> {
    const transport = await this.open();
    return withProgress(label, () => transport.send(request));
  }

  /** Writes to stdout. */
  print(text: string): void {
    process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  }

  /** Prints `value` as JSON (the `--json` output). */
  printJson(value: unknown): void {
    this.print(JSON.stringify(value, null, 2));
  }

  /** Closes the transport if it was opened (direct mode: checkpoints and releases the file). */
  async close(): Promise<void> {
    if (!this.transport) return;
    const transport = await this.transport.catch(() => undefined);
    this.transport = undefined;
    if (transport) await withProgress('closing the database', () => transport.close());
  }

  /** Where a server on this environment would listen, for the "use --url" hint. */
  private urlHint(): string {
    const host = this.env.HOST?.trim() || '127.0.0.1';
    const port = this.env.PORT?.trim() || '3000';
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
}
