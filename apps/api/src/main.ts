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
const IN_FLIGHT_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const { app, config } = await createApp(process.env);
  const logger = new Logger('Bootstrap');
  await app.listen(config.port, config.host);
  logger.log(`Serving on http://${config.host}:${config.port} (OpenAPI at /docs)`);
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      logger.log(`${signal} received: finishing requests in flight, then closing the database`);
      setTimeout(() => {
        logger.error(`Shutdown took longer than ${SHUTDOWN_DEADLINE_MS} ms; exiting.`);
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
      // Requests in flight get 10 s; then their connections are closed so shutdown can finish.
      setTimeout(() => app.getHttpServer().closeAllConnections(), IN_FLIGHT_GRACE_MS).unref();
      // close() stops accepting, waits for requests in flight, then runs the shutdown hooks
      // (pool drain, checkpoint, close).
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(`Shutdown failed: ${String(error)}`);
          process.exit(1);
        },
      );
    });
  }
}

main().catch((error: unknown) => {
  const message =
    error instanceof ConfigError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`Startup failed: ${message}\n`);
  process.exit(1);
});
