import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProbeDetail, ProbeSample } from '../support/memory-probe';
import { freePort } from '../support/redis';
import { type AppBuild, type AppProcess, buildApp, spawnApp } from '../support/server-process';
import { Client } from './client';
import type { Settings } from './types';

/** The memory probe preloaded into the server (`--probe`). */
const PROBE_MODULE = join(__dirname, '..', 'support', 'memory-probe.ts');

/** How long the server gets to exit on SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 20_000;

/** The latest figures the preloaded memory probe sent, and its DuckDB detail on request. */
export class ProbeListener {
  /** The last once-a-second sample (V8 heap, external, DuckDB's buffer manager). */
  latest: ProbeSample | undefined;
  private detail: ProbeDetail | undefined;

  constructor(
    private readonly app: AppProcess,
    private readonly enabled: boolean,
  ) {
    app.child.on('message', (message: ProbeSample | ProbeDetail) => {
      if (message.type === 'sample') this.latest = message;
      else if (message.type === 'duckdb-detail') this.detail = message;
    });
  }

  /** DuckDB's settings and memory by tag, or undefined without a probe or after 5 s. */
  async requestDetail(): Promise<ProbeDetail | undefined> {
    if (!this.enabled || !this.app.child.connected) return undefined;
    this.detail = undefined;
    this.app.child.send({ type: 'duckdb-detail' });
    for (let i = 0; i < 50 && !this.detail; i++) await sleep(100);
    return this.detail;
  }
}

/** The app under soak, the client that loads it, and its temporary directory. */
export interface SoakServer {
  app: AppProcess;
  /** The compiled build it runs; undefined with `--ts-node`. */
  build?: AppBuild;
  client: Client;
  probe: ProbeListener;
  /** Holds the DuckDB file; removed by {@link stopServer}. */
  dir: string;
}

/**
 * Builds (unless `--ts-node`) and spawns the app on a free loopback port with a fresh DuckDB file
 * in a temporary directory, the memory cache, `LOG_LEVEL=warn` and the `--env` overrides; does
 * not wait for it (see {@link waitLive}).
 */
export async function startServer(settings: Settings): Promise<SoakServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mcs-soak-'));
  const port = await freePort();
  const env: Record<string, string | undefined> = {
    CACHE_STORE: 'memory',
    LOG_LEVEL: 'warn',
    ...settings.env,
  };
  const preload = settings.probe ? [PROBE_MODULE] : [];
  const build = settings.tsNode ? undefined : buildApp(preload, settings.appRoot);
  const app = spawnApp({
    port,
    dbPath: join(dir, 'soak.duckdb'),
    env,
    nodeOptions: [...settings.nodeOptions, ...(settings.gc ? ['--expose-gc'] : [])],
    preload,
    build,
  });
  const client = new Client(app.baseUrl, settings.connections);
  return { app, build, client, probe: new ProbeListener(app, settings.probe), dir };
}

/** Resolves once `/health/live` answers 200; throws if the app exits or is not live in time. */
export async function waitLive(server: SoakServer, timeoutMs = 60_000): Promise<void> {
  const { app, client } = server;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (app.exitCode() !== undefined) throw new Error(`The app exited at startup\n${app.output()}`);
    const res = await client.send('GET', '/health/live').catch(() => undefined);
    if (res?.status === 200) return;
    await sleep(100);
  }
  throw new Error(`The app was not live within ${timeoutMs} ms\n${app.output()}`);
}

/** Closes the client, stops the app (SIGTERM, then SIGKILL after 20 s) and removes its directory. */
export async function stopServer(server: SoakServer): Promise<void> {
  const { app } = server;
  server.client.close();
  if (app.exitCode() === undefined) app.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    app.exited.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS))),
  ]);
  // A pending timer would keep the benchmark's process alive after it has finished.
  clearTimeout(timer);
  if (!exited) {
    app.child.kill('SIGKILL');
    await app.exited;
  }
  rmSync(server.dir, { recursive: true, force: true });
}
