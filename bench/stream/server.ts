import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ServerProcess, startAppServer } from '../http/processes';
import type { AppBuild } from '../support/server-process';
import { changeKey, nowMs } from './protocol';

/** The app under test, its write key and its temporary directory. */
export interface StreamServer {
  readonly process: ServerProcess;
  readonly apiKey: string;
  readonly dir: string;
}

/**
 * Spawns the compiled app on a fresh DuckDB file in a temporary directory (seeded with the
 * defaults), memory cache, `LOG_LEVEL=silent`, no rate limit, `API_KEY` set (writes need it,
 * streams do not) and room for `maxClients` streams; waits until it is live.
 */
export async function startStreamServer(build: AppBuild, maxClients: number) {
  const dir = mkdtempSync(join(tmpdir(), 'mcs-stream-'));
  const apiKey = randomBytes(16).toString('hex');
  try {
    const process = await startAppServer(build, join(dir, 'stream.duckdb'), {
      CACHE_STORE: 'memory',
      LOG_LEVEL: 'silent',
      RATE_LIMIT_PER_MINUTE: '',
      API_KEY: apiKey,
      API_KEYS: '',
      SEED_ON_EMPTY: 'true',
      EVENTS_MAX_CLIENTS: String(maxClients),
      EVENTS_REQUIRE_KEY: 'false',
    });
    return { process, apiKey, dir } satisfies StreamServer;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

export async function stopStreamServer(server: StreamServer): Promise<void> {
  await server.process.stop();
  rmSync(server.dir, { recursive: true, force: true });
}

/** The streams the server holds open (`event_streams_open` of `/metrics`). */
export async function openStreams(server: StreamServer): Promise<number> {
  const text = await (await fetch(`${server.process.origin}/metrics`)).text();
  const match = /^\w*event_streams_open(?:\{[^}]*\})? (\d+)/m.exec(text);
  if (!match) throw new Error('/metrics has no event_streams_open');
  return Number(match[1]);
}

/** Waits until the server holds exactly `count` streams open (its sockets close asynchronously). */
export async function awaitOpenStreams(server: StreamServer, count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  let open = await openStreams(server);
  while (open !== count) {
    if (Date.now() > deadline) throw new Error(`The server holds ${open} streams, not ${count}`);
    await sleep(50);
    open = await openStreams(server);
  }
}

/** The active config of a usage type: the one the benchmark PATCHes. */
export async function activeConfig(server: StreamServer, usageType: string) {
  const res = await fetch(`${server.process.origin}/api/v1/usage-types/${usageType}/active`);
  if (res.status !== 200) throw new Error(`GET active ${usageType}: ${res.status}`);
  return (await res.json()) as { id: string; version: number };
}

/** One PATCH as the writer saw it. */
export interface Write {
  key: string;
  /** Just before the request was handed to `node:http`. */
  sentAt: number;
  /** When its 2xx answer had been read in full. */
  respondedAt: number;
}

/**
 * Sends PATCHes to one config, one at a time, over one kept-alive socket; each sets
 * `parameters.streamBench` to a new number, so each is a real change (version + 1).
 */
export class Writer {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private serial = 0;

  constructor(
    private readonly server: StreamServer,
    private readonly configId: string,
    private version: number,
  ) {}

  async patch(): Promise<Write> {
    const body = JSON.stringify({ parameters: { streamBench: ++this.serial } });
    const sentAt = nowMs();
    const { status, text } = await this.send(body);
    const respondedAt = nowMs();
    if (status !== 200) throw new Error(`PATCH answered ${status}: ${text}`);
    const config = JSON.parse(text) as { id: string; version: number };
    if (config.version !== this.version + 1) {
      throw new Error(`PATCH gave version ${config.version}, expected ${this.version + 1}`);
    }
    this.version = config.version;
    return { key: changeKey(config.id, config.version), sentAt, respondedAt };
  }

  close(): void {
    this.agent.destroy();
  }

  private send(body: string): Promise<{ status: number; text: string }> {
    const url = `${this.server.process.origin}/api/v1/model-configs/${this.configId}`;
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'x-api-key': this.server.apiKey,
    };
    return new Promise((resolve, reject) => {
      const req = request(url, { method: 'PATCH', headers, agent: this.agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.setTimeout(10_000, () => req.destroy(new Error('PATCH timed out')));
      req.on('error', reject);
      req.end(body);
    });
  }
}
