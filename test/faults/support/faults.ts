import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DuckDbPool } from '@lib/duckdb';
import { createApp } from '../../../apps/api/src/bootstrap';
import { API, type ModelConfig } from '../../support/http';
import { sleep } from '../../support/testing';

// See test/support/test-app.ts: Jest's module registry cannot load this ES module itself.
jest.mock('content-disposition', () =>
  process.getBuiltinModule('node:module').createRequire(__filename)('content-disposition'),
);

/** A small tmpfs mounted for one test file (needs root, or CAP_SYS_ADMIN). */
export interface Tmpfs {
  dir: string;
  /** Writes a filler file until the file system is full; returns its size in bytes. */
  fill(): number;
  /** Deletes the filler file. */
  free(): void;
  /** Free bytes right now. */
  available(): number;
  /** Unmounts (lazily if something still holds a file open) and removes the mount point. */
  unmount(): void;
}

/**
 * Why this process cannot mount a tmpfs (or, with `immutable`, cannot `chattr +i` a file on it),
 * or undefined when it can. Checked synchronously.
 */
export function tmpfsUnavailableReason(immutable = false): string | undefined {
  if (process.platform !== 'linux') return `tmpfs needs Linux, this is ${process.platform}`;
  const probe = mkdtempSync(join(tmpdir(), 'faults-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'pipe' });
  } catch (error) {
    rmSync(probe, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return `cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): ${stderr || String(error)}`;
  }
  try {
    if (!immutable) return undefined;
    const file = join(probe, 'probe');
    writeFileSync(file, 'x');
    execFileSync('chattr', ['+i', file], { stdio: 'pipe' });
    execFileSync('chattr', ['-i', file], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return `cannot chattr +i on a tmpfs (needs chattr from e2fsprogs and Linux 6.0+): ${stderr || String(error)}`;
  } finally {
    execFileSync('umount', [probe], { stdio: 'pipe' });
    rmSync(probe, { recursive: true, force: true });
  }
}

/**
 * `describe` when a tmpfs can be mounted. Otherwise: under `CI=true` a suite whose one test fails
 * with the reason (a fault test that cannot run is a failure there, never a skip); elsewhere
 * `describe.skip`, with the reason printed.
 */
export function describeWithTmpfs(
  name: string,
  body: () => void,
  options: { immutable?: boolean } = {},
): void {
  const reason = tmpfsUnavailableReason(options.immutable);
  if (reason === undefined) {
    describe(name, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('can mount the tmpfs this fault test needs', () => {
        throw new Error(`${reason}; under CI=true this is a failure, not a skip`);
      });
    });
    return;
  }
  process.stdout.write(`SKIPPED "${name}": ${reason}\n`);
  describe.skip(name, body);
}

/** Mounts a tmpfs of `sizeMb` MiB on a fresh directory. */
export function mountTmpfs(sizeMb: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'faults-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755`, 'tmpfs', dir], {
    stdio: 'pipe',
  });
  const filler = join(dir, 'filler');
  let mounted = true;
  // Should the test process end without afterAll (a crash, a kill by Jest), detach it anyway.
  const onExit = () => {
    if (!mounted) return;
    try {
      execFileSync('chattr', ['-R', '-i', dir], { stdio: 'pipe' });
    } catch {
      // nothing immutable
    }
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      // already gone
    }
  };
  process.once('exit', onExit);
  return {
    dir,
    fill: () => {
      const fd = openSync(filler, 'a');
      let written = 0;
      try {
        // Large chunks first, then single pages, until ENOSPC says the last page is taken.
        for (const size of [1 << 20, 64 << 10, 4 << 10, 512]) {
          const chunk = Buffer.alloc(size, 0x5a);
          for (;;) {
            try {
              written += writeSync(fd, chunk);
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw error;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      return written;
    },
    free: () => {
      if (existsSync(filler)) unlinkSync(filler);
    },
    available: () => {
      const out = execFileSync('df', ['-B1', '--output=avail', dir]).toString().trim();
      return Number(out.split('\n').pop());
    },
    unmount: () => {
      if (!mounted) return;
      try {
        execFileSync('chattr', ['-R', '-i', dir], { stdio: 'pipe' });
      } catch {
        // nothing immutable, or no chattr
      }
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        // DuckDB may keep a file open until its objects are garbage-collected: detach now, the
        // kernel frees the tmpfs when the last file closes (at the latest when Jest exits).
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      }
      mounted = false;
      process.removeListener('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sets or clears the immutable attribute (`chattr ±i`): even root cannot open them for writing. */
export function setImmutable(paths: string[], immutable: boolean): void {
  const existing = paths.filter((path) => existsSync(path));
  if (existing.length === 0) return;
  execFileSync('chattr', [immutable ? '+i' : '-i', ...existing], { stdio: 'pipe' });
}

/** The real application, in this process, on the database file `dbPath`, listening on loopback. */
export interface AppAt {
  app: NestFastifyApplication;
  url: string;
  pool: DuckDbPool;
  close(): Promise<void>;
}

/** Starts the application (`createApp`) on `dbPath` and listens on a random loopback port. */
export async function startAppAt(dbPath: string, env: Record<string, string> = {}): Promise<AppAt> {
  const { app } = await createApp({ DUCKDB_PATH: dbPath, LOG_LEVEL: 'silent', ...env });
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  const address = app.getHttpServer().address();
  if (address === null || typeof address === 'string') throw new Error('No TCP address');
  let closed = false;
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    pool: app.get(DuckDbPool),
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

/** One HTTP answer; `status` 0 means the request failed at the network level or timed out. */
export interface Answer {
  status: number;
  ms: number;
  text: string;
  json: unknown;
  retryAfter: string | null;
  headers: Record<string, string>;
}

/** One request with `fetch`; never throws (a network error or a timeout is status 0). */
export async function send(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 15_000,
): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return {
      status: res.status,
      ms: performance.now() - started,
      text,
      json,
      retryAfter: res.headers.get('retry-after'),
      headers: Object.fromEntries(res.headers),
    };
  } catch (error) {
    return {
      status: 0,
      ms: performance.now() - started,
      text: String(error),
      json: undefined,
      retryAfter: null,
      headers: {},
    };
  }
}

/** A short description of an answer for failure messages. */
/**
 * Every config of `usageType` through the API, one page that reaches DuckDB: a `limit` nobody
 * else uses defeats the response cache.
 */
export async function listUsageType(
  url: string,
  usageType: string,
): Promise<{ res: Answer; items: ModelConfig[] }> {
  const limit = 900 + Math.floor(Math.random() * 100);
  const res = await send(url, 'GET', `${API}/model-configs?usageType=${usageType}&limit=${limit}`);
  const items = res.status === 200 ? (res.json as { items: ModelConfig[] }).items : [];
  return { res, items };
}

export function show(answer: Answer): string {
  return `${answer.status} ${answer.text.slice(0, 300)}`;
}

/** Polls `probe` until it returns true, every `everyMs`, at most `timeoutMs`; returns the time taken. */
export async function waitFor(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await probe()) return Date.now() - started;
    await sleep(everyMs);
  }
  return undefined;
}

/** Runs `sql` (no parameters: a DuckDB command such as `CHECKPOINT`) on a pooled connection. */
export async function runCommand(pool: DuckDbPool, sql: string): Promise<string | undefined> {
  try {
    await pool.withConnection((connection) =>
      connection.run(sql, [], 'script', { operation: 'faultTest' }),
    );
    return undefined;
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause;
    return `${(error as Error).name}: ${cause?.message ?? (error as Error).message}`;
  }
}
