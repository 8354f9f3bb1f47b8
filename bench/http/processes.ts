import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../support/redis';
import {
  type AppBuild,
  type AppProcess,
  spawnApp,
  startScriptNodeFlags,
} from '../support/server-process';

/** A server in a child process, ready to take requests. */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly origin: string;
  /** The tail of its output, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after 15 s; resolves once it has exited. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

/**
 * The app's environment for the benchmarks: memory cache, no logs, no rate limit, no API key, no
 * seeding (the database is seeded by the benchmark), everything else at its default. Empty
 * values read as unset, and a `.env` file cannot fill them in.
 */
export const APP_ENV: Record<string, string | undefined> = {
  CACHE_STORE: 'memory',
  LOG_LEVEL: 'silent',
  RATE_LIMIT_PER_MINUTE: '',
  API_KEY: '',
  SEED_ON_EMPTY: 'false',
};

/** Spawns the compiled app on `dbPath` and waits until `/health/live` answers. */
export async function startAppServer(
  build: AppBuild,
  dbPath: string,
  env: Record<string, string | undefined> = APP_ENV,
): Promise<ServerProcess> {
  const app = spawnApp({
    port: await freePort(),
    dbPath,
    env,
    nodeOptions: startScriptNodeFlags(),
    build,
  });
  const server = appServer('service', app);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (app.exitCode() !== undefined) throw new Error(`The app exited at startup\n${app.output()}`);
    const live = await fetch(`${app.baseUrl}/health/live`).catch(() => undefined);
    if (live?.status === 200) return server;
    await sleep(100);
  }
  await server.stop();
  throw new Error(`The app was not live within ${START_TIMEOUT_MS} ms\n${app.output()}`);
}

function appServer(name: string, app: AppProcess): ServerProcess {
  return {
    name,
    pid: app.pid,
    origin: app.baseUrl,
    output: () => app.output(),
    stop: () => stopChild(app.child, app.exited, () => app.exitCode() !== undefined),
  };
}

/**
 * Spawns a compiled benchmark server (`node <flags of npm start> [-r tsconfig-paths] <entry>`)
 * with `PORT=0` and `env`, and waits for its `LISTENING <port>` line. The app's variables
 * inherited from this process (`UV_THREADPOOL_SIZE` above all) are removed.
 */
export async function startEntryServer(
  name: string,
  entry: string,
  env: Record<string, string>,
  tsconfig?: string,
): Promise<ServerProcess> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env };
  delete childEnv.UV_THREADPOOL_SIZE;
  if (tsconfig) childEnv.TS_NODE_PROJECT = tsconfig;
  const paths = tsconfig ? ['-r', 'tsconfig-paths/register'] : [];
  const child = spawn(process.execPath, [...startScriptNodeFlags(), ...paths, entry], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: string) => (out = (out + chunk).slice(-16_384));
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const stop = () => stopChild(child, exitedPromise, () => exited);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline && !exited) {
    const port = /LISTENING (\d+)/.exec(out)?.[1];
    if (port) {
      const origin = `http://127.0.0.1:${port}`;
      return { name, pid: child.pid ?? -1, origin, output: () => out, stop };
    }
    await sleep(50);
  }
  await stop();
  throw new Error(`${name} did not start\n${out}`);
}

async function stopChild(
  child: { kill(signal: NodeJS.Signals): boolean },
  exited: Promise<void>,
  hasExited: () => boolean,
): Promise<void> {
  if (hasExited()) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  if (!done) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** CPU time (user + system, every thread) process `pid` has used, in µs; 0 if unreadable. */
export function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1_000_000) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** `getconf CLK_TCK`: 100 on Linux. */
const CLOCK_TICKS_PER_S = 100;

/** Stops every server, ignoring failures (for `finally`). */
export async function stopAll(servers: readonly ServerProcess[]): Promise<void> {
  await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
}
