import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO_ROOT = resolve(__dirname, '..', '..');
const ENTRY = 'test/support/child-server.ts';
const STARTUP_TIMEOUT_MS = 60_000;

/** How the child process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The application running in a child process, for tests whose request may crash the process
 * (a native crash in-process would take the whole Jest run down with it).
 */
export interface ChildApp {
  url: string;
  dbPath: string;
  pid: number;
  /** The exit, once the process ended. */
  exit(): ExitInfo | undefined;
  /** stderr so far, for failure messages. */
  stderr(): string;
  /** Stops the process (SIGTERM, then SIGKILL) and removes its temporary directory. */
  close(): Promise<void>;
}

/** Starts the app (`createApp`, see child-server.ts) in a child process on a fresh database. */
export async function startChildApp(env: Record<string, string> = {}): Promise<ChildApp> {
  const dir = mkdtempSync(join(tmpdir(), 'model-configs-e2e-child-'));
  const dbPath = join(dir, 'test.duckdb');
  const child: ChildProcess = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', ENTRY],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TS_NODE_PROJECT: join(REPO_ROOT, 'tsconfig.json'),
        DUCKDB_PATH: dbPath,
        LOG_LEVEL: 'silent',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let exit: ExitInfo | undefined;
  let stdout = '';
  let stderr = '';
  const exited = new Promise<ExitInfo>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolveExit(exit);
    });
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`The child app did not start within ${STARTUP_TIMEOUT_MS} ms: ${stderr}`));
    }, STARTUP_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = /^\{"port":(\d+)\}$/m.exec(stdout);
      if (line) {
        clearTimeout(timer);
        resolvePort(Number(line[1]));
      }
    });
    void exited.then((info) => {
      clearTimeout(timer);
      reject(new Error(`The child app exited during startup (${JSON.stringify(info)}): ${stderr}`));
    });
  }).catch(async (error: unknown) => {
    if (exit === undefined) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });

  return {
    url: `http://127.0.0.1:${port}`,
    dbPath,
    pid: child.pid ?? -1,
    exit: () => exit,
    stderr: () => stderr,
    close: async () => {
      if (exit === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
