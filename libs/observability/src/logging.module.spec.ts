import { type AddressInfo, connect } from 'node:net';
import { Writable } from 'node:stream';
import { Body, Controller, Get, Logger, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { LoggingModule } from './logging.module';
import { createPinoParams, redactUrl, requestLogLevel } from './logging.options';

const lines: Record<string, unknown>[] = [];
const destination = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    done();
  },
});

@Controller('things')
class ThingsController {
  private readonly logger = new Logger('Things');

  @Get()
  async list(): Promise<string[]> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.logger.log('listing things');
    return [];
  }

  @Get('slow')
  async slow(): Promise<string[]> {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return [];
  }

  @Post()
  async create(@Body() body: { name: string; padding?: string }): Promise<{ name: string }> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.logger.log('creating a thing');
    return { name: body.name };
  }
}

@Module({
  imports: [LoggingModule.forRoot({ level: 'debug', destination })],
  controllers: [ThingsController],
})
class TestModule {}

describe('LoggingModule', () => {
  let app: NestFastifyApplication;
  let requestNumber = 0;
  let baseUrl = '';
  const send = (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  beforeAll(async () => {
    app = await NestFactory.create<NestFastifyApplication>(
      TestModule,
      new FastifyAdapter({ genReqId: () => `req-${++requestNumber}`, bodyLimit: 2 * 1024 * 1024 }),
      { bufferLogs: true },
    );
    app.useLogger(app.get(PinoNestLogger));
    app.flushLogs();
    // Like a URL-length check: answered in an onRequest hook that runs before the logger's own.
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRequest', (request, reply, done) => {
        if (request.url === '/early') void reply.status(414).send({ refused: true });
        else done();
      });
    // A real socket: request bodies are read in the socket's async context, which inject() hides.
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as AddressInfo;
    baseUrl = `http://127.0.0.1:${address.port}`;
  });

  afterAll(() => app.close());

  const linesOf = (reqId: string) => lines.filter((line) => line.reqId === reqId);

  it('writes JSON lines with level names and the Nest context', () => {
    const started = lines.find((line) => line.msg === 'Nest application successfully started');
    expect(started).toMatchObject({ level: 'INFO', context: 'NestApplication' });
    expect(typeof started?.time).toBe('string');
  });

  it.each([
    ['GET', undefined, 'listing things'],
    ['POST', { name: 'a' }, 'creating a thing'],
    // Large enough to arrive in several reads, after the logger's hook entered the request's context.
    ['POST', { name: 'a', padding: 'x'.repeat(512 * 1024) }, 'creating a thing'],
  ])('keeps the request id on lines logged while serving a %s', async (method, body, message) => {
    const res = await send(method, '/things', body);
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('x-request-id')).toBeNull();
    const reqId = `req-${requestNumber}`;
    const own = linesOf(reqId);
    expect(own.find((line) => line.msg === message)).toMatchObject({ context: 'Things' });
    const completed = own.find((line) => line.msg === 'request completed');
    expect(completed).toMatchObject({ level: 'INFO', res: { statusCode: res.status } });
    expect(JSON.stringify(own)).not.toContain('"name":"a"');
  });

  it('redacts credentials in headers and secret query values', async () => {
    await send('GET', '/things?api_key=secret-in-query&limit=5', undefined, {
      authorization: 'Bearer secret-bearer',
      'x-api-key': 'secret-header',
      cookie: 'session=secret-cookie',
    });
    const text = JSON.stringify(linesOf(`req-${requestNumber}`));
    expect(text).not.toMatch(/secret-/);
    expect(text).toContain('api_key=[REDACTED]&limit=5');
    expect(text).toContain('"x-api-key":"[REDACTED]"');
  });

  it('logs requests answered by an earlier onRequest hook, once', async () => {
    const path = '/early';
    const res = await send('GET', path, undefined, { 'x-api-key': 'secret-header' });
    expect(res.status).toBe(414);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const own = linesOf(`req-${requestNumber}`);
    expect(own).toHaveLength(1);
    expect(own[0]).toMatchObject({
      level: 'WARN',
      msg: 'request completed',
      req: { id: `req-${requestNumber}`, method: 'GET', url: path },
      res: { statusCode: 414 },
    });
    expect(JSON.stringify(own)).not.toContain('secret-header');
  });

  it('shortens very long URLs', async () => {
    await send('GET', `/things?q=${'a'.repeat(5000)}`);
    const completed = linesOf(`req-${requestNumber}`).find(
      (line) => line.msg === 'request completed',
    ) as { req: { url: string } };
    expect(completed.req.url).toMatch(/^\/things\?q=a+\.\.\.\(2962 more\)$/);
    expect(completed.req.url.length).toBeLessThan(2100);
  });

  it('logs a request whose client went away before the answer as aborted', async () => {
    // A plain socket, closed while the handler still works (fetch's pool would keep others open).
    const socket = connect(Number(new URL(baseUrl).port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET /things/slow HTTP/1.1\r\nHost: test\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    const reqId = `req-${requestNumber}`;
    const deadline = Date.now() + 2_000;
    while (!linesOf(reqId).some((line) => line.msg === 'request aborted')) {
      if (Date.now() > deadline)
        throw new Error(`no aborted line: ${JSON.stringify(linesOf(reqId))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(linesOf(reqId).find((line) => line.msg === 'request aborted')).toMatchObject({
      level: 'WARN',
      req: { method: 'GET', url: '/things/slow' },
    });
  });

  it('logs client errors at warn', async () => {
    await send('GET', '/missing');
    const completed = linesOf(`req-${requestNumber}`).find((l) => l.msg === 'request completed');
    expect(completed).toMatchObject({ level: 'WARN', res: { statusCode: 404 } });
  });
});

describe('createPinoParams', () => {
  it('installs no request middleware, at any level (RequestLogger logs from Fastify hooks)', () => {
    for (const level of ['info', 'debug', 'silent'] as const) {
      expect(createPinoParams({ level }).forRoutes).toEqual([]);
    }
  });
});

describe('requestLogLevel', () => {
  const quiet = ['/health', '/metrics'];

  it('maps status and quiet routes to a level', () => {
    expect(requestLogLevel(quiet, '/api/v1/x', 200)).toBe('info');
    expect(requestLogLevel(quiet, '/health/live', 200)).toBe('debug');
    expect(requestLogLevel(quiet, '/metrics?x=1', 200)).toBe('debug');
    expect(requestLogLevel(quiet, '/healthy', 200)).toBe('info');
    expect(requestLogLevel(quiet, '/health', 503)).toBe('error');
    expect(requestLogLevel(quiet, '/api/v1/x', 409)).toBe('warn');
    expect(requestLogLevel(quiet, '/api/v1/x', 200, new Error('x'))).toBe('error');
  });
});

describe('redactUrl', () => {
  it('hides values of secret-looking query parameters only', () => {
    expect(redactUrl('/a')).toBe('/a');
    expect(redactUrl('/a?token=x&limit=2&apiKey=y&flag')).toBe(
      '/a?token=[REDACTED]&limit=2&apiKey=[REDACTED]&flag',
    );
  });
});
