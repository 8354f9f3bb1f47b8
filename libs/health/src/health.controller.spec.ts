import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import type { FastifyReply } from 'fastify';
import { DuckDbModule, DuckDbPool, type DuckDbModuleOptions } from '@lib/duckdb';
import { TransactionsModule } from '@lib/transactions';
import { HEALTH_ROUTES } from './health.constants';
import type { HealthModuleOptions } from './health.interfaces';
import { HealthModule } from './health.module';
import { sleep } from '@lib/common/testing';

const POOL_FIELDS = [
  'enabled',
  'min',
  'max',
  'size',
  'idle',
  'inUse',
  'waiting',
  'created',
  'acquired',
  'released',
  'timeouts',
  'healthChecks',
  'healthCheckFailures',
  'avgAcquireMs',
  'maxAcquireMs',
].sort();

/** Stands in for the application's filter, which rewrites every HttpException body. */
@Catch()
class RewritingExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    void host
      .switchToHttp()
      .getResponse<FastifyReply>()
      .status(status)
      .send({ statusCode: status, error: 'rewritten', code: 'REWRITTEN', message: 'rewritten' });
  }
}

interface Booted {
  app: NestFastifyApplication;
  url: string;
  dir: string;
  get: (path: string) => Promise<{ status: number; headers: Headers; body: Json }>;
}

type Json = Record<string, unknown> & {
  status?: string;
  info?: Record<string, Record<string, unknown>>;
  error?: Record<string, Record<string, unknown>>;
  details?: Record<string, Record<string, unknown>>;
};

async function boot(
  duckdb: Omit<DuckDbModuleOptions, 'path'>,
  health?: HealthModuleOptions,
): Promise<Booted> {
  const dir = mkdtempSync(join(tmpdir(), 'health-spec-'));
  const moduleRef = await Test.createTestingModule({
    imports: [
      DuckDbModule.forRoot({ ...duckdb, path: join(dir, 'health.duckdb'), isGlobal: true }),
      TransactionsModule,
      health ? HealthModule.forRoot(health) : HealthModule.forRoot(),
    ],
  }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
    logger: false,
  });
  app.setGlobalPrefix('api/v1', { exclude: [...HEALTH_ROUTES] });
  app.useGlobalFilters(new RewritingExceptionFilter());
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  const get = async (path: string) => {
    const response = await fetch(url + path);
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Json,
    };
  };
  return { app, url, dir, get };
}

async function shutdown(booted: Booted | undefined): Promise<void> {
  if (!booted) return;
  await booted.app.close();
  rmSync(booted.dir, { recursive: true, force: true });
}

beforeAll(() => Logger.overrideLogger(false));

describe('HealthController over HTTP, pool mode', () => {
  let booted: Booted;
  beforeAll(async () => (booted = await boot({ pool: { min: 1, max: 2 } })));
  afterAll(() => shutdown(booted));

  it('GET /health is 200 with database and pool up, uncached', async () => {
    const { status, headers, body } = await booted.get('/health');
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.info?.database.status).toBe('up');
    expect(body.info?.pool.status).toBe('up');
    expect(body.info?.pool.enabled).toBe(true);
    expect(body.error).toEqual({});
    expect(Object.keys(body.details ?? {}).sort()).toEqual(['database', 'pool']);
    expect(headers.get('cache-control')).toBe('no-cache, no-store, must-revalidate');
  });

  it('GET /health/database reports mode, latency, base name, schema version and pool', async () => {
    const { status, body } = await booted.get('/health/database');
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    const database = body.details?.database ?? {};
    expect(Object.keys(database).sort()).toEqual(
      [
        'file',
        'inMemory',
        'latencyMs',
        'mode',
        'pool',
        'schemaVersion',
        'status',
        'transactions',
      ].sort(),
    );
    expect(database).toMatchObject({
      status: 'up',
      mode: 'pool',
      file: 'health.duckdb',
      inMemory: false,
      schemaVersion: 0,
    });
    expect(JSON.stringify(body)).not.toContain(booted.dir);
    expect(typeof database.latencyMs).toBe('number');
    expect(database.latencyMs as number).toBeGreaterThanOrEqual(0);
    expect(Object.keys(database.pool as object).sort()).toEqual(POOL_FIELDS);
  });

  it('GET /health/pool returns exactly the pool statistics', async () => {
    const { status, body } = await booted.get('/health/pool');
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(POOL_FIELDS);
    expect(body).toMatchObject({ enabled: true, min: 1, max: 2, inUse: 0, waiting: 0 });
    expect(body.size as number).toBeGreaterThanOrEqual(1);
    for (const field of POOL_FIELDS.filter((f) => f !== 'enabled')) {
      expect(typeof body[field]).toBe('number');
    }
  });

  it('GET /health/live is 200 {status: ok}', async () => {
    const { status, body } = await booted.get('/health/live');
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'ok' });
  });

  it('serves every HEALTH_ROUTES path outside the global prefix', async () => {
    for (const route of HEALTH_ROUTES) {
      // This app has no QueryCacheModule: /health/cache exists but has nothing to report.
      expect((await booted.get(`/${route}`)).status).toBe(route === 'health/cache' ? 404 : 200);
      expect((await booted.get(`/api/v1/${route}`)).status).toBe(404);
    }
  });

  it('documents the endpoints in OpenAPI under the health tag', () => {
    const document = SwaggerModule.createDocument(booted.app, new DocumentBuilder().build());
    for (const route of HEALTH_ROUTES) {
      expect(document.paths[`/${route}`]?.get?.tags).toEqual(['health']);
    }
    const pool = document.paths['/health/pool']?.get?.responses?.['200'];
    expect(JSON.stringify(pool)).toContain('healthCheckFailures');
    expect(document.paths['/health']?.get?.responses?.['503']).toBeDefined();
  });
});

describe('HealthController over HTTP, pool feature flag off', () => {
  let booted: Booted;
  beforeAll(async () => (booted = await boot({ pool: { enabled: false } })));
  afterAll(() => shutdown(booted));

  it('reports mode single and a pool of one shared connection', async () => {
    const { status, body } = await booted.get('/health/database');
    expect(status).toBe(200);
    const database = body.details?.database ?? {};
    expect(database.mode).toBe('single');
    expect(database.pool).toMatchObject({ enabled: false, min: 1, max: 1, size: 1 });
  });

  it('shows inUse 1 on /health/pool while a query holds the shared connection', async () => {
    const pool = booted.app.get(DuckDbPool);
    const hold = pool.withConnection(() => sleep(300));
    try {
      const { status, body } = await booted.get('/health/pool');
      expect(status).toBe(200);
      expect(body).toMatchObject({ enabled: false, min: 1, max: 1, size: 1, inUse: 1 });
    } finally {
      await hold;
    }
  });
});

describe('HealthController over HTTP, database not answering', () => {
  let booted: Booted;
  beforeAll(
    async () =>
      (booted = await boot(
        { pool: { min: 1, max: 1, acquireTimeoutMs: 10_000 } },
        { databaseTimeoutMs: 200 },
      )),
  );
  afterAll(() => shutdown(booted));

  it('answers 503 with the Terminus body, not 500 nor the API error body, and recovers', async () => {
    const pool = booted.app.get(DuckDbPool);
    const hold = pool.withConnection(() => sleep(1500));
    try {
      const started = performance.now();
      const ready = await booted.get('/health');
      expect(performance.now() - started).toBeLessThan(1200);
      expect(ready.status).toBe(503);
      expect(ready.body.statusCode).toBeUndefined();
      expect(ready.body.status).toBe('error');
      expect(ready.body.error?.database).toMatchObject({
        status: 'down',
        message: 'The database did not answer within 200 ms.',
        mode: 'pool',
        file: 'health.duckdb',
      });
      expect(ready.body.info?.pool.status).toBe('up');
      expect(ready.body.details?.database.status).toBe('down');

      const database = await booted.get('/health/database');
      expect(database.status).toBe(503);
      expect(database.body.error?.database.status).toBe('down');

      // Liveness and pool statistics touch no connection, so they answer meanwhile.
      expect((await booted.get('/health/live')).status).toBe(200);
      const stats = await booted.get('/health/pool');
      expect(stats.status).toBe(200);
      // Both timed-out checks share one queued probe instead of piling up.
      expect(stats.body).toMatchObject({ inUse: 1, waiting: 1 });
    } finally {
      await hold;
    }
    const after = await booted.get('/health');
    expect(after.status).toBe(200);
    expect(after.body.info?.database.status).toBe('up');
  });
});

describe('HealthController over HTTP, pool drained', () => {
  let booted: Booted;
  beforeAll(async () => (booted = await boot({ pool: { min: 1, max: 2 } })));
  afterAll(() => shutdown(booted));

  it('reports the pool down once it has no connection and lends none', async () => {
    await booted.app.get(DuckDbPool).drain();
    const { status, body } = await booted.get('/health');
    expect(status).toBe(503);
    expect(body.error?.pool).toMatchObject({
      status: 'down',
      message: 'The database pool is shutting down.',
      size: 0,
    });
    expect(body.error?.database).toMatchObject({
      status: 'down',
      message: 'The database pool is shutting down.',
    });
    expect((await booted.get('/health/pool')).status).toBe(200);
  });
});
