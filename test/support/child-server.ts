// Entry of a server child process (see child-app.ts): the real application from source, listening on
// a random loopback port, which it prints as one JSON line (`{"port":1234}`) on stdout.
import { sizeUvThreadPool } from '@lib/duckdb';
import { createApp } from '../../apps/api/src/bootstrap';

sizeUvThreadPool(Number(process.env.DUCKDB_POOL_MAX) || 4);

async function main(): Promise<void> {
  const { app } = await createApp(process.env);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  if (address === null || typeof address === 'string') throw new Error('No TCP address');
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  process.once('SIGTERM', () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `Startup failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
