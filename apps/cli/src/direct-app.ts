// Loaded by direct mode only (transport.ts imports it on demand), so that HTTP mode never loads
// Nest, Fastify or DuckDB.
import { sizeUvThreadPool } from '@lib/duckdb';
import { createApp } from '../../api/src/bootstrap';
import { type CliResponse, type InjectingApp, withQuery } from './api-request';

/**
 * Builds the real application for `env` (`createApp`), initialises it without listening (the
 * database opens and migrations run), and answers requests through Fastify's `inject`.
 */
export async function openDirectApp(env: NodeJS.ProcessEnv): Promise<InjectingApp> {
  // As main.ts does: libuv's thread pool must fit the DuckDB pool before DuckDB first uses it.
  sizeUvThreadPool(Number(env.DUCKDB_POOL_MAX) || 4);
  const { app } = await createApp(env);
  try {
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  const fastify = app.getHttpAdapter().getInstance();
  return {
    async inject(request): Promise<CliResponse> {
      const headers: Record<string, string> = { ...request.headers };
      if (request.body !== undefined) {
        headers['content-type'] = request.contentType ?? 'application/json';
      }
      const response = await fastify.inject({
        method: request.method,
        url: withQuery(request.path, request.query),
        headers,
        payload: request.body,
      });
      const responseHeaders: CliResponse['headers'] = {};
      for (const [name, value] of Object.entries(response.headers)) {
        responseHeaders[name] = typeof value === 'number' ? String(value) : value;
      }
      return { status: response.statusCode, headers: responseHeaders, text: response.body };
    },
    close: () => app.close(),
  };
}
