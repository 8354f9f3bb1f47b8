// Size libuv's thread pool before anything does threadpool I/O: the DuckDB driver runs every
// statement there, and with fewer threads than pooled connections connect() can hang.
import { sizeUvThreadPool } from '@lib/duckdb';

loadDotEnv();
sizeUvThreadPool(Number(process.env.DUCKDB_POOL_MAX) || 4);

import { Logger } from '@nestjs/common';
import { createApp } from './bootstrap';
import { ConfigError } from './config/app-config';

/** Reads `.env` from the working directory when there is one (real environment variables win). */
function loadDotEnv(): void {
  try {
    process.loadEnvFile('.env');
  } catch {
    // No .env file: the environment alone configures the service.
  }
}

const SHUTDOWN_DEADLINE_MS = 15_000;

async function main(): Promise<void> {
  const { app, config } = await createApp(process.env);
  await app.listen(config.port, config.host);
  new Logger('Bootstrap').log(`Serving on http://${config.host}:${config.port} (OpenAPI at /docs)`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      // Nest's shutdown hooks close the server and the database; this only bounds how long.
      setTimeout(() => {
        new Logger('Bootstrap').error(`Shutdown took longer than ${SHUTDOWN_DEADLINE_MS} ms; exiting.`);
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
    });
  }
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`Startup failed: ${message}\n`);
  process.exit(1);
});
