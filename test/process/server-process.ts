import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ModelConfig } from '../support/http';
import { APP_ENV_VARIABLES } from '../../apps/api/src/config/app-config';

/** The repository root: the working directory of every spawned server. */
export const REPO_ROOT = resolve(__dirname, '..', '..');

/** The app's entry, run from source (no build needed on a fresh clone). */
const ENTRY = 'apps/api/src/main.ts';

/** Longest wait for `GET /health/live` to answer 200 after spawning. */
export const STARTUP_TIMEOUT_MS = 30_000;

/**
 * Variables the app reads (API.md §4). They are removed from the inherited environment so that a
 * developer's shell cannot change what a test starts; each test sets the ones it needs.
 */
const APP_VARIABLES = [...APP_ENV_VARIABLES, 'UV_THREADPOOL_SIZE'];

/** How a child process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned server process and what it printed. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly baseUrl: string;
  readonly dbPath: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** The exit, once it happened. */
  exit(): ExitInfo | undefined;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr, for failure messages. */
  output(): string;
}

/** Options of {@link spawnServer}. */
export interface SpawnOptions {
  dbPath: string;
  /** Defaults to a free port. */
  port?: number;
  /** Overrides (a value of `undefined` removes the variable). */
  env?: Record<string, string | undefined>;
}

const live = new Set<ServerProcess>();
const tempDirs: string[] = [];

/** A port that was free a moment ago: listen on port 0, read the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

/** A fresh temporary directory, removed by {@link cleanupServers}. */
export function makeTempDir(prefix = 'mcs-process-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Spawns `main.ts` from source with ts-node; does not wait for it to listen. */
export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of APP_VARIABLES) delete env[name];
  Object.assign(env, {
    PORT: String(port),
    HOST: '127.0.0.1',
    DUCKDB_PATH: options.dbPath,
    LOG_LEVEL: 'info',
    NO_COLOR: '1',
    TS_NODE_PROJECT: join(REPO_ROOT, 'tsconfig.json'),
    TS_NODE_TRANSPILE_ONLY: 'true',
  });
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', ENTRY],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolveExit(exitInfo);
    });
    child.once('error', () => {
      exitInfo ??= { code: -1, signal: null };
      resolveExit(exitInfo);
    });
  });
  const server: ServerProcess = {
    child,
    pid: child.pid ?? -1,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    dbPath: options.dbPath,
    exited,
    exit: () => exitInfo,
    stdout: () => out,
    stderr: () => err,
    output: () => `--- stdout ---\n${out}\n--- stderr ---\n${err}`,
  };
  live.add(server);
  void exited.then(() => live.delete(server));
  return server;
}

/** Polls `GET /health/live` until it answers 200; rejects if the process exits or time runs out. */
export async function waitUntilLive(
  server: ServerProcess,
  timeoutMs = STARTUP_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const exit = server.exit();
    if (exit) {
      throw new Error(
        `Server exited before listening (code ${exit.code}, signal ${exit.signal})\n${server.output()}`,
      );
    }
    try {
      const res = await request(server.baseUrl, 'GET', '/health/live', undefined, {
        timeoutMs: 2_000,
      });
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await delay(100);
  }
  throw new Error(`Server not live within ${timeoutMs} ms\n${server.output()}`);
}

/** Spawns a server and waits until it is live. */
export async function startServer(options: SpawnOptions): Promise<ServerProcess> {
  const server = await spawnServer(options);
  await waitUntilLive(server);
  return server;
}

/** Sends `signal` (if still running) and waits for the exit, at most `timeoutMs`. */
export async function stopServer(
  server: ServerProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  timeoutMs = 20_000,
): Promise<ExitInfo> {
  if (!server.exit()) server.child.kill(signal);
  const exit = await waitForExit(server, timeoutMs);
  if (!exit) {
    server.child.kill('SIGKILL');
    await server.exited;
    throw new Error(`Server did not exit within ${timeoutMs} ms of ${signal}\n${server.output()}`);
  }
  return exit;
}

/** The exit of the process, or `undefined` if it is still running after `timeoutMs`. */
export async function waitForExit(
  server: ServerProcess,
  timeoutMs: number,
): Promise<ExitInfo | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(undefined), timeoutMs);
  });
  try {
    return await Promise.race([server.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGKILLs every server still running, waits for them, and removes the temp directories. */
export async function cleanupServers(): Promise<void> {
  const running = [...live];
  for (const server of running) {
    if (!server.exit()) server.child.kill('SIGKILL');
  }
  await Promise.all(running.map((server) => server.exited));
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** The answer to one HTTP request. */
export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body, or `undefined` when the body is not JSON. */
  body: unknown;
}

/** Options of {@link request}. */
export interface RequestOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Called once the whole request (headers and body) has been handed to the socket. */
  onSent?: () => void;
}

/**
 * One HTTP request on its own connection (no keep-alive, so a dead server cannot leave stale
 * sockets behind). Rejects on connection errors (refused, reset) and on timeout.
 */
export function request(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  options: RequestOptions = {},
): Promise<HttpResult> {
  return new Promise((resolveResult, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { ...options.headers };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const req = httpRequest(
      new URL(path, baseUrl),
      { method, headers, agent: false, timeout: options.timeoutMs ?? 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolveResult({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    if (options.onSent) req.on('finish', options.onSent);
    req.end(payload);
  });
}

/** True when a TCP connection to the port is accepted right now. */
export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = connect({ port, host });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolveConnect(false);
    });
    socket.once('error', () => resolveConnect(false));
  });
}

/** Every config, read page by page from `GET /api/v1/model-configs`. */
export async function listAllConfigs(baseUrl: string): Promise<ModelConfig[]> {
  const all: ModelConfig[] = [];
  for (let offset = 0; ; offset += 1000) {
    const res = await request(baseUrl, 'GET', `/api/v1/model-configs?limit=1000&offset=${offset}`);
    if (res.status !== 200) throw new Error(`GET /api/v1/model-configs: ${res.status} ${res.text}`);
    const page = res.body as { items: ModelConfig[]; total: number };
    all.push(...page.items);
    if (page.items.length === 0 || all.length >= page.total) return all;
  }
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolveDelay) => setTimeout(resolveDelay, ms));
}
