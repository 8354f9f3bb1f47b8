import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { sleep } from '@lib/common/testing';

/** A real `redis-server` child process on a loopback port, for tests. */
export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** The pid of the running child (undefined once stopped). */
  readonly pid: number | undefined;
  /**
   * Sends `signal` to the child. `SIGSTOP`/`SIGCONT` return at once (the process, and its data,
   * survive); any other signal waits until the process has exited.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a fresh, empty server on the same port (stopping the old one first if it runs). */
  restart(): Promise<void>;
  /** Stops the server for good and removes its working directory. Safe to call twice. */
  stop(): Promise<void>;
}

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];
const READY_TIMEOUT_MS = 10_000;

/** Every child still running, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** The path of `redis-server`, or a thrown error saying how to install it (never a skip). */
export function findRedisServer(): string {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir.length > 0);
  for (const candidate of [...dirs.map((dir) => join(dir, 'redis-server')), ...CANDIDATES]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  if (process.env.CI === 'true') {
    throw new Error(
      'redis-server is not installed: CI must install it (apt-get install redis-server); ' +
        'a missing Redis is a test failure, never a skip',
    );
  }
  throw new Error(
    'redis-server is not installed: run `sudo apt-get install redis-server` (the cache tests ' +
      'need a real Redis and are never skipped)',
  );
}

/** A TCP port nothing listens on right now (listen on 0, read the port, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`Unexpected address: ${String(address)}`));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** Sends a raw `PING` and resolves true on `+PONG`, false on anything else (within 500 ms). */
export function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const done = (result: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(false), 500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('utf8');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Spawns `redis-server --port <port> --save '' --appendonly no --bind 127.0.0.1` (a free port when
 * none is given) and resolves once it answers `PING`.
 *
 * @throws when `redis-server` is missing (see {@link findRedisServer}) or does not come up.
 */
export async function startRedis(port?: number): Promise<RedisServer> {
  const binary = findRedisServer();
  const chosenPort = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  let child: ChildProcess | undefined;
  let stopped = false;

  const spawnChild = async (): Promise<void> => {
    const output: string[] = [];
    const proc = spawn(
      binary,
      [
        '--port',
        String(chosenPort),
        '--save',
        '',
        '--appendonly',
        'no',
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      output.push(chunk.toString('utf8'));
      if (output.length > 50) output.shift();
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    child = proc;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(
          `redis-server on port ${chosenPort} exited (${proc.exitCode ?? proc.signalCode}): ` +
            output.join('').slice(-2_000),
        );
      }
      if (await ping(chosenPort)) return;
      await sleep(25);
    }
    proc.kill('SIGKILL');
    throw new Error(
      `redis-server on port ${chosenPort} did not answer PING within ${READY_TIMEOUT_MS} ms: ` +
        output.join('').slice(-2_000),
    );
  };

  const killChild = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(signal);
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') return;
    // A stopped process only acts on SIGKILL; let it see a gentler signal too.
    if (signal !== 'SIGKILL') proc.kill('SIGCONT');
    await exited(proc);
  };

  try {
    await spawnChild();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    port: chosenPort,
    url: `redis://127.0.0.1:${chosenPort}`,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    kill: (signal: NodeJS.Signals = 'SIGKILL') => killChild(signal),
    restart: async () => {
      if (stopped) throw new Error('restart() after stop()');
      await killChild('SIGKILL');
      await spawnChild();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await killChild('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
