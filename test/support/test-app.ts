import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../apps/api/src/bootstrap';

// `@fastify/static` (which serves the Swagger UI) requires `content-disposition`@3, an ES module.
// Node 20.19+ loads it with `require(esm)`, but Jest's CommonJS module registry cannot, and Nest
// then exits the process while setting up `/docs`. Load the real package with Node's own
// `require` (Jest intercepts `node:module`, not `process.getBuiltinModule`) and hand it to Jest:
// nothing is faked.
jest.mock('content-disposition', () =>
  process.getBuiltinModule('node:module').createRequire(__filename)('content-disposition'),
);

/** A running application listening on a random loopback port, with its own database file. */
export interface TestApp {
  app: NestFastifyApplication;
  /** Base URL such as `http://127.0.0.1:54321`. */
  url: string;
  /** The DuckDB file of this app, inside a temporary directory. */
  dbPath: string;
  /** Closes the app and removes its temporary directory. */
  close: () => Promise<void>;
}

/**
 * Boots the real application (`createApp`) on a fresh temporary database and listens on a random
 * loopback port, so tests talk to it over HTTP exactly as clients do.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'model-configs-e2e-'));
  const dbPath = join(dir, 'test.duckdb');
  let app: NestFastifyApplication | undefined;
  try {
    ({ app } = await createApp({ DUCKDB_PATH: dbPath, LOG_LEVEL: 'silent', ...env }));
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const address = app.getHttpServer().address();
  if (address === null || typeof address === 'string') {
    throw new Error(`Unexpected server address: ${String(address)}`);
  }
  const running = app;
  let closed = false;
  return {
    app: running,
    url: `http://127.0.0.1:${address.port}`,
    dbPath,
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        await running.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
