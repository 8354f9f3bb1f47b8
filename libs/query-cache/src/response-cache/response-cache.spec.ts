import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Injectable,
  NotFoundException,
  Optional,
  Param,
  Post,
  Query,
  Res,
  type Type,
  VersioningType,
} from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { DuckDbModule } from '@lib/duckdb';
import {
  CacheResponse,
  QueryCache,
  QueryCacheModule,
  type QueryCacheModuleOptions,
  type QueryCacheStats,
  ResponseCache,
  ResponseCacheModule,
  type ResponseCacheModuleOptions,
  type ResponseCacheStats,
} from '@lib/query-cache';
import { TransactionHost, TransactionsModule } from '@lib/transactions';
import type { FastifyReply } from 'fastify';
import { type RequestListener, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SilentLogger, deferred, sleep } from '@lib/common/testing';
import { type RedisServer, startRedis } from '../testing';
import { createClient, type RedisClientType } from '@keyv/redis';

jest.setTimeout(10_000);

/** Polls `check` every 5 ms until it is true, or fails after `timeoutMs`. */
async function waitFor(what: string, check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${what}`);
    await sleep(5);
  }
}

let sequence = 0;
/** A name no other test uses (route parameters, cache keys, tags). */
function unique(prefix: string): string {
  sequence += 1;
  return `${prefix}-${sequence}-${Math.random().toString(36).slice(2, 8)}`;
}

const tagOf = (name: string) => `tag:${name}`;

/**
 * The "database" behind the test controller: values by name, the handler and loader calls
 * counted, and loads that can be held open.
 */
@Injectable()
class Backend {
  readonly values = new Map<string, string>();
  /** Handler calls, by `route:name`. */
  private readonly handlerCalls = new Map<string, number>();
  /** Loader calls, by name. */
  private readonly loaderCalls = new Map<string, number>();
  /** A load of a name found here waits until it resolves (after reading the value). */
  readonly holds = new Map<string, Promise<void>>();

  value(name: string): string {
    return this.values.get(name) ?? 'v0';
  }

  called(route: string, name: string): void {
    const key = `${route}:${name}`;
    this.handlerCalls.set(key, (this.handlerCalls.get(key) ?? 0) + 1);
  }

  calls(route: string, name: string): number {
    return this.handlerCalls.get(`${route}:${name}`) ?? 0;
  }

  loads(name: string): number {
    return this.loaderCalls.get(name) ?? 0;
  }

  async load(name: string): Promise<string> {
    const value = this.value(name);
    this.loaderCalls.set(name, this.loads(name) + 1);
    const hold = this.holds.get(name);
    if (hold) await hold;
    return value;
  }
}

/** Response headers that make a response not worth keeping, and one that does not. */
const EXTRA_HEADERS: Record<string, [string, string]> = {
  cookie: ['set-cookie', 'session=abc; Path=/; HttpOnly'],
  vary: ['vary', 'accept-language'],
  private: ['cache-control', 'private, max-age=60'],
  'no-store': ['cache-control', 'no-store'],
  public: ['cache-control', 'public, max-age=60'],
};

@Controller('r')
class ResponsesController {
  constructor(
    private readonly cache: QueryCache,
    private readonly backend: Backend,
    @Optional() private readonly transactions?: TransactionHost,
  ) {}

  private read(name: string, ttlMs?: number): Promise<string> {
    return this.cache.getOrLoad(`value:${name}`, () => this.backend.load(name), {
      tags: [tagOf(name)],
      ...(ttlMs === undefined ? {} : { ttlMs }),
    });
  }

  /** The main route: one read (optionally with `?ttl=`), an `etag` of the value. */
  @CacheResponse()
  @Get('value/:name')
  async value(
    @Param('name') name: string,
    @Query() query: Record<string, string>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    this.backend.called('value', name);
    const value = await this.read(name, query.ttl === undefined ? undefined : Number(query.ttl));
    void reply.header('etag', `"${value}"`);
    return { name, value, query };
  }

  /** Overrides a header that an earlier hook set on every request. */
  @CacheResponse()
  @Get('override/:name')
  async override(@Param('name') name: string, @Res({ passthrough: true }) reply: FastifyReply) {
    this.backend.called('override', name);
    const value = await this.read(name);
    void reply.header('x-exchange', 'set-by-handler');
    return { name, value };
  }

  /** Two reads under different tags. */
  @CacheResponse()
  @Get('two/:a/:b')
  async two(@Param('a') a: string, @Param('b') b: string) {
    this.backend.called('two', a);
    const [first, second] = await Promise.all([this.read(a), this.read(b)]);
    return { first, second };
  }

  @CacheResponse()
  @Get('missing/:name')
  async missing(@Param('name') name: string) {
    this.backend.called('missing', name);
    await this.read(name);
    throw new NotFoundException(`No ${name}`);
  }

  /** Reads around the query cache. */
  @CacheResponse()
  @Get('uncached/:name')
  uncached(@Param('name') name: string) {
    this.backend.called('uncached', name);
    return { name, value: this.backend.value(name) };
  }

  @CacheResponse()
  @Get('header/:kind/:name')
  async header(
    @Param('kind') kind: string,
    @Param('name') name: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    this.backend.called(`header-${kind}`, name);
    const value = await this.read(name);
    const [header, headerValue] = EXTRA_HEADERS[kind];
    void reply.header(header, headerValue);
    return { name, value };
  }

  /** A body of `size` bytes. */
  @CacheResponse()
  @Get('big/:name')
  async big(@Param('name') name: string, @Query('size') size: string) {
    this.backend.called('big', name);
    const value = await this.read(name);
    return value.padEnd(Number(size), '.');
  }

  /** One read outside any transaction, then one inside a transaction unless `?tx=0`. */
  @CacheResponse()
  @Get('tx/:name')
  async transactional(@Param('name') name: string, @Query('tx') tx: string | undefined) {
    this.backend.called('tx', name);
    const host = this.transactions;
    if (!host) throw new Error('TransactionsModule is not imported');
    const outside = await this.read(`${name}-outside`);
    const value = tx === '0' ? await this.read(name) : await host.run(() => this.read(name));
    return { name, outside, value };
  }

  @Get('plain/:name')
  async plain(@Param('name') name: string) {
    this.backend.called('plain', name);
    return { name, value: await this.read(name) };
  }

  /** The path of the cached `GET value/:name`, but a POST. */
  @Post('value/:name')
  async postValue(@Param('name') name: string) {
    this.backend.called('post', name);
    return { posted: name, value: await this.read(name) };
  }

  /** A write: changes the value and invalidates its tag. */
  @Delete('value/:name')
  async deleteValue(@Param('name') name: string) {
    this.backend.called('delete', name);
    this.backend.values.set(name, 'deleted');
    await this.cache.invalidate([tagOf(name)]);
    return { deleted: name };
  }

  /** Decorated, but not a GET: never kept (even with a 200). */
  @CacheResponse()
  @Post('decorated-post/:name')
  @HttpCode(200)
  async decoratedPost(@Param('name') name: string) {
    this.backend.called('decorated-post', name);
    return { name, value: await this.read(name) };
  }
}

/** A running test application and what tests look at. */
interface Harness {
  app: NestFastifyApplication;
  backend: Backend;
  queryCache: QueryCache;
  responses: ResponseCache;
  get(url: string, method?: 'GET' | 'HEAD' | 'POST' | 'DELETE'): Promise<Exchange>;
}

/** What a test needs of one response. */
interface Exchange {
  status: number;
  body: string;
  headers: Record<string, string | string[] | number | undefined>;
  json(): Record<string, unknown>;
}

/**
 * Builds the test application on the Fastify adapter with the memory store: an `onRequest`
 * hook registered before the response cache's sets per-exchange headers (like a request id);
 * DuckDB and transactions only when `transactions` is set.
 */
async function startApp(
  options: QueryCacheModuleOptions,
  { transactions = false, responses = {} as ResponseCacheModuleOptions } = {},
): Promise<Harness> {
  const caches = [
    QueryCacheModule.forRoot({ store: 'memory', ...options, isGlobal: true }),
    ResponseCacheModule.forRoot(responses),
  ];
  const imports = transactions
    ? [DuckDbModule.forRoot({ isGlobal: true, pool: { max: 2 } }), TransactionsModule, ...caches]
    : caches;
  const moduleRef = await Test.createTestingModule({
    imports,
    controllers: [ResponsesController],
    providers: [Backend],
  })
    .setLogger(new SilentLogger())
    .compile();
  let requestNumber = 0;
  const app = moduleRef.createNestApplication<NestFastifyApplication>(
    new FastifyAdapter({ genReqId: () => `req-${++requestNumber}` }),
  );
  let exchange = 0;
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      void reply.header('x-request-id', request.id);
      void reply.header('x-exchange', String(++exchange));
      done();
    });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    backend: app.get(Backend),
    queryCache: app.get(QueryCache),
    responses: app.get(ResponseCache),
    get: async (url, method = 'GET') => {
      const res = await app.inject({ method, url });
      return {
        status: res.statusCode,
        body: res.body,
        headers: res.headers,
        json: () => res.json<Record<string, unknown>>(),
      };
    },
  };
}

/** The change of the response cache's counters between two `stats()`. */
function responseDelta(before: ResponseCacheStats, after: ResponseCacheStats) {
  return {
    hits: after.hits - before.hits,
    misses: after.misses - before.misses,
    stored: after.stored - before.stored,
  };
}

function queryHits(before: QueryCacheStats, after: QueryCacheStats): number {
  return after.hits - before.hits;
}

describe('ResponseCache (@CacheResponse, Fastify, memory store)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startApp({}, { transactions: true, responses: { maxBodyBytes: 512 } });
  });

  afterAll(async () => {
    await h?.app.close();
  });

  describe('a kept response', () => {
    it('answers the second GET without the handler: same status, body, content-type and handler headers; fresh per-request headers; counted', async () => {
      const name = unique('kept');
      const url = `/r/value/${name}`;
      h.backend.values.set(name, 'one');
      const responsesBefore = h.responses.stats();
      const queryBefore = h.queryCache.stats();

      const first = await h.get(url);
      const afterFirst = h.queryCache.stats();
      const second = await h.get(url);

      expect(first.status).toBe(200);
      expect(first.json()).toEqual({ name, value: 'one', query: {} });
      expect(h.backend.calls('value', name)).toBe(1);
      expect(h.backend.loads(name)).toBe(1);
      expect(second.status).toBe(200);
      expect(second.body).toBe(first.body);
      expect(second.headers['content-type']).toBe(first.headers['content-type']);
      expect(String(second.headers['content-type'])).toMatch(/^application\/json/);
      expect(second.headers.etag).toBe('"one"');
      expect(second.headers['content-length']).toBe(String(Buffer.byteLength(first.body)));
      // Set by the earlier hook for each exchange: never replayed from the first response.
      expect(second.headers['x-request-id']).toBeDefined();
      expect(second.headers['x-request-id']).not.toBe(first.headers['x-request-id']);
      expect(Number(second.headers['x-exchange'])).toBe(Number(first.headers['x-exchange']) + 1);
      expect(responseDelta(responsesBefore, h.responses.stats())).toEqual({
        hits: 1,
        misses: 1,
        stored: 1,
      });
      expect(queryHits(afterFirst, h.queryCache.stats())).toBe(1);
      expect(queryHits(queryBefore, h.queryCache.stats())).toBe(1);
      expect(h.responses.stats().entries).toBeGreaterThanOrEqual(1);
    });

    it('counts one query-cache hit per read the kept response stands for', async () => {
      const [a, b] = [unique('two-a'), unique('two-b')];
      const url = `/r/two/${a}/${b}`;
      await h.get(url);
      const before = h.queryCache.stats();
      const responsesBefore = h.responses.stats();
      const again = await h.get(url);
      expect(again.json()).toEqual({ first: 'v0', second: 'v0' });
      expect(h.backend.calls('two', a)).toBe(1);
      expect(queryHits(before, h.queryCache.stats())).toBe(2);
      expect(responseDelta(responsesBefore, h.responses.stats()).hits).toBe(1);
    });

    it('serves a GET over a real socket from the kept response too', async () => {
      const server = await startApp({});
      try {
        await server.app.listen(0, '127.0.0.1');
        const { port } = server.app.getHttpServer().address() as AddressInfo;
        const name = unique('socket');
        const url = `http://127.0.0.1:${port}/r/value/${name}`;
        const first = await fetch(url, { headers: { connection: 'close' } });
        const firstBody = await first.text();
        const second = await fetch(url, { headers: { connection: 'close' } });
        expect(second.status).toBe(200);
        expect(await second.text()).toBe(firstBody);
        expect(second.headers.get('etag')).toBe('"v0"');
        expect(second.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
        expect(server.backend.calls('value', name)).toBe(1);
        expect(server.responses.stats().hits).toBe(1);
      } finally {
        await server.app.close();
      }
    });
  });

  describe('invalidation', () => {
    it('invalidate([tag]) makes the next GET run the handler and return the new value', async () => {
      const name = unique('inv');
      const url = `/r/value/${name}`;
      h.backend.values.set(name, 'old');
      await h.get(url);
      await h.get(url);
      expect(h.backend.calls('value', name)).toBe(1);

      h.backend.values.set(name, 'new');
      await h.queryCache.invalidate([tagOf(name)]);
      const after = await h.get(url);
      expect(after.json()).toMatchObject({ value: 'new' });
      expect(after.headers.etag).toBe('"new"');
      expect(h.backend.calls('value', name)).toBe(2);
      // Kept again under the new versions.
      expect((await h.get(url)).json()).toMatchObject({ value: 'new' });
      expect(h.backend.calls('value', name)).toBe(2);
    });

    it('invalidating an unrelated tag leaves the kept response in use', async () => {
      const name = unique('unrelated');
      const url = `/r/value/${name}`;
      await h.get(url);
      h.backend.values.set(name, 'changed without invalidation');
      await h.queryCache.invalidate([tagOf(unique('other')), 'some-other-tag']);
      const again = await h.get(url);
      expect(again.json()).toMatchObject({ value: 'v0' });
      expect(h.backend.calls('value', name)).toBe(1);
    });

    it('a write route that invalidates makes the next GET fresh', async () => {
      const name = unique('write');
      const url = `/r/value/${name}`;
      await h.get(url);
      expect((await h.get(url, 'DELETE')).json()).toEqual({ deleted: name });
      const after = await h.get(url);
      expect(after.json()).toMatchObject({ value: 'deleted' });
      expect(h.backend.calls('value', name)).toBe(2);
    });

    it('invalidateAll() makes every kept response stale', async () => {
      const [a, b] = [unique('all-a'), unique('all-b')];
      for (const name of [a, b]) {
        await h.get(`/r/value/${name}`);
        await h.get(`/r/value/${name}`);
        expect(h.backend.calls('value', name)).toBe(1);
        h.backend.values.set(name, 'after-all');
      }
      await h.queryCache.invalidateAll();
      for (const name of [a, b]) {
        expect((await h.get(`/r/value/${name}`)).json()).toMatchObject({ value: 'after-all' });
        expect(h.backend.calls('value', name)).toBe(2);
      }
    });

    it('keeps nothing rendered from a read that an invalidation overtook (stale-render race)', async () => {
      const name = unique('race');
      const url = `/r/value/${name}`;
      h.backend.values.set(name, 'old');
      const hold = deferred();
      h.backend.holds.set(name, hold.promise);
      const storedBefore = h.responses.stats().stored;

      const pending = h.get(url);
      await waitFor('the load to start', () => h.backend.loads(name) === 1);
      // A write commits while the load that read the old row is still running.
      h.backend.values.set(name, 'new');
      await h.queryCache.invalidate([tagOf(name)]);
      h.backend.holds.delete(name);
      hold.resolve();

      const raced = await pending;
      expect(raced.status).toBe(200);
      expect(raced.json()).toMatchObject({ value: 'old' });
      expect(h.responses.stats().stored).toBe(storedBefore);

      const next = await h.get(url);
      expect(next.json()).toMatchObject({ value: 'new' });
      expect(h.backend.calls('value', name)).toBe(2);
      expect(h.backend.loads(name)).toBe(2);
    });
  });

  describe('responses that are not kept', () => {
    /** Two GETs of `url` both ran the handler, and nothing was kept. */
    async function expectNotKept(url: string, route: string, name: string): Promise<Exchange[]> {
      const before = h.responses.stats();
      const exchanges = [await h.get(url), await h.get(url)];
      expect(h.backend.calls(route, name)).toBe(2);
      expect(responseDelta(before, h.responses.stats())).toEqual({
        hits: 0,
        misses: 2,
        stored: 0,
      });
      return exchanges;
    }

    it('a non-200 response (the handler throws NotFoundException)', async () => {
      const name = unique('missing');
      const [first, second] = await expectNotKept(`/r/missing/${name}`, 'missing', name);
      expect(first.status).toBe(404);
      expect(second.status).toBe(404);
      // The read itself was cached: only the rendered response was not kept.
      expect(h.backend.loads(name)).toBe(1);
    });

    it('a handler that reads nothing through the query cache', async () => {
      const name = unique('uncached');
      h.backend.values.set(name, 'first');
      const first = await h.get(`/r/uncached/${name}`);
      h.backend.values.set(name, 'second');
      const second = await h.get(`/r/uncached/${name}`);
      expect(first.json()).toMatchObject({ value: 'first' });
      expect(second.json()).toMatchObject({ value: 'second' });
      expect(h.backend.calls('uncached', name)).toBe(2);
    });

    it.each([
      ['cookie', 'set-cookie'],
      ['vary', 'vary'],
      ['private', 'cache-control'],
      ['no-store', 'cache-control'],
    ])('a response with the %s header', async (kind, header) => {
      const name = unique(kind);
      const [first, second] = await expectNotKept(
        `/r/header/${kind}/${name}`,
        `header-${kind}`,
        name,
      );
      expect(first.status).toBe(200);
      expect(second.headers[header]).toBe(EXTRA_HEADERS[kind][1]);
    });

    it('but a response with Cache-Control: public is kept, with that header', async () => {
      const name = unique('public');
      const url = `/r/header/public/${name}`;
      await h.get(url);
      const again = await h.get(url);
      expect(again.headers['cache-control']).toBe('public, max-age=60');
      expect(h.backend.calls('header-public', name)).toBe(1);
    });

    it('a body over maxBodyBytes (a body within it is kept)', async () => {
      const name = unique('big');
      const big = await expectNotKept(`/r/big/${name}?size=513`, 'big', name);
      expect(big[1].body).toHaveLength(513);

      const small = unique('small');
      await h.get(`/r/big/${small}?size=512`);
      const kept = await h.get(`/r/big/${small}?size=512`);
      expect(kept.body).toHaveLength(512);
      expect(h.backend.calls('big', small)).toBe(1);
    });

    it('a response with a read inside a transaction (the same reads outside one are kept)', async () => {
      const name = unique('tx');
      const [first] = await expectNotKept(`/r/tx/${name}`, 'tx', name);
      expect(first.json()).toEqual({ name, outside: 'v0', value: 'v0' });
      // Inside a transaction the cache is skipped: the loader ran each time; outside it did not.
      expect(h.backend.loads(name)).toBe(2);
      expect(h.backend.loads(`${name}-outside`)).toBe(1);

      const outside = unique('no-tx');
      await h.get(`/r/tx/${outside}?tx=0`);
      await h.get(`/r/tx/${outside}?tx=0`);
      expect(h.backend.calls('tx', outside)).toBe(1);
    });

    it('a route without @CacheResponse() (and it does not count as a miss)', async () => {
      const name = unique('plain');
      const before = h.responses.stats();
      await h.get(`/r/plain/${name}`);
      await h.get(`/r/plain/${name}`);
      expect(h.backend.calls('plain', name)).toBe(2);
      expect(responseDelta(before, h.responses.stats())).toEqual({ hits: 0, misses: 0, stored: 0 });
    });
  });

  describe('URLs and methods', () => {
    it('distinct query strings are distinct entries', async () => {
      const name = unique('query');
      const base = `/r/value/${name}`;
      const a = await h.get(`${base}?page=1`);
      const b = await h.get(`${base}?page=2`);
      const plain = await h.get(base);
      expect(a.json()).toMatchObject({ query: { page: '1' } });
      expect(b.json()).toMatchObject({ query: { page: '2' } });
      expect(plain.json()).toMatchObject({ query: {} });
      expect(h.backend.calls('value', name)).toBe(3);

      expect((await h.get(`${base}?page=2`)).body).toBe(b.body);
      expect((await h.get(`${base}?page=1`)).body).toBe(a.body);
      expect((await h.get(base)).body).toBe(plain.body);
      expect(h.backend.calls('value', name)).toBe(3);
    });

    it('HEAD before any GET answers 200 without a body and keeps no empty body for GET', async () => {
      const name = unique('head-first');
      const url = `/r/value/${name}`;
      const head = await h.get(url, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
      expect(String(head.headers['content-type'])).toMatch(/^application\/json/);

      const get = await h.get(url);
      expect(get.status).toBe(200);
      expect(get.json()).toEqual({ name, value: 'v0', query: {} });
      const again = await h.get(url);
      expect(again.body).toBe(get.body);
    });

    it('HEAD after a kept GET answers 200 without a body; GET is still served from the kept response', async () => {
      const name = unique('head-after');
      const url = `/r/value/${name}`;
      const get = await h.get(url);
      const head = await h.get(url, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
      expect(head.headers.etag).toBe(get.headers.etag);

      const callsAfterHead = h.backend.calls('value', name);
      const again = await h.get(url);
      expect(again.body).toBe(get.body);
      expect(h.backend.calls('value', name)).toBe(callsAfterHead);
    });

    it('a POST to the path of a kept GET runs its own handler every time', async () => {
      const name = unique('post');
      const url = `/r/value/${name}`;
      await h.get(url);
      const before = h.responses.stats();
      const first = await h.get(url, 'POST');
      const second = await h.get(url, 'POST');
      expect(first.status).toBe(201);
      expect(second.json()).toEqual({ posted: name, value: 'v0' });
      expect(h.backend.calls('post', name)).toBe(2);
      expect(responseDelta(before, h.responses.stats())).toEqual({ hits: 0, misses: 0, stored: 0 });
      // The GET is still kept.
      await h.get(url);
      expect(h.backend.calls('value', name)).toBe(1);
    });

    it('@CacheResponse() on a POST route keeps nothing', async () => {
      const name = unique('decorated-post');
      const url = `/r/decorated-post/${name}`;
      const before = h.responses.stats();
      const first = await h.get(url, 'POST');
      const second = await h.get(url, 'POST');
      expect(first.status).toBe(200);
      expect(second.body).toBe(first.body);
      expect(h.backend.calls('decorated-post', name)).toBe(2);
      expect(responseDelta(before, h.responses.stats())).toEqual({ hits: 0, misses: 0, stored: 0 });
    });
  });

  it('replays a header the handler overrode over an earlier hook, with the handler value', async () => {
    const name = unique('override');
    const first = await h.get(`/r/override/${name}`);
    const second = await h.get(`/r/override/${name}`);
    expect(h.backend.calls('override', name)).toBe(1);
    expect(first.headers['x-exchange']).toBe('set-by-handler');
    expect(second.headers['x-exchange']).toBe('set-by-handler');
  });

  describe('expiry', () => {
    it('a kept response expires with the first of its reads (ttlMs)', async () => {
      const name = unique('ttl');
      const url = `/r/value/${name}?ttl=150`;
      await h.get(url);
      await h.get(url);
      expect(h.backend.calls('value', name)).toBe(1);
      h.backend.values.set(name, 'later');
      await sleep(200);
      const after = await h.get(url);
      expect(after.json()).toMatchObject({ value: 'later' });
      expect(h.backend.calls('value', name)).toBe(2);
    });
  });
});

describe('ResponseCache options', () => {
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.app.close();
    h = undefined;
  });

  it('entries: 0 turns the response cache off', async () => {
    h = await startApp({}, { responses: { entries: 0 } });
    const name = unique('off');
    const url = `/r/value/${name}`;
    await h.get(url);
    const second = await h.get(url);
    expect(second.json()).toMatchObject({ value: 'v0' });
    expect(h.backend.calls('value', name)).toBe(2);
    // The query cache still works.
    expect(h.backend.loads(name)).toBe(1);
    expect(h.responses.stats()).toEqual({
      hits: 0,
      earlyHits: 0,
      misses: 0,
      stored: 0,
      entries: 0,
      storeChecks: 0,
    });
  });

  it('entries bounds the kept responses (least recently used evicted)', async () => {
    h = await startApp({}, { responses: { entries: 2 } });
    const names = [unique('lru-a'), unique('lru-b'), unique('lru-c')];
    for (const name of names) await h.get(`/r/value/${name}`);
    expect(h.responses.stats().stored).toBe(3);
    expect(h.responses.stats().entries).toBeLessThanOrEqual(2);

    // The most recent one is still kept; the oldest was evicted.
    await h.get(`/r/value/${names[2]}`);
    expect(h.backend.calls('value', names[2])).toBe(1);
    await h.get(`/r/value/${names[0]}`);
    expect(h.backend.calls('value', names[0])).toBe(2);
    expect(h.responses.stats().entries).toBeLessThanOrEqual(2);
  });
});

/** A controller of `GET /versioned` for one API version, answering `value` through the cache. */
function versionedController(version: string, value: string) {
  @Controller({ path: 'versioned', version })
  class VersionedController {
    calls = 0;
    constructor(private readonly cache: QueryCache) {}

    @CacheResponse()
    @Get()
    async get() {
      this.calls++;
      return {
        version: await this.cache.getOrLoad(`v${version}`, async () => value, { tags: ['v'] }),
      };
    }
  }
  return VersionedController;
}

const VersionOneController = versionedController('1', 'one');
const VersionTwoController = versionedController('2', 'two');

describe('ResponseCache with header versioning', () => {
  it('keeps one response per version of a URL', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        QueryCacheModule.forRoot({ store: 'memory', isGlobal: true }),
        ResponseCacheModule.forRoot(),
      ],
      controllers: [VersionOneController, VersionTwoController],
    })
      .setLogger(new SilentLogger())
      .compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    app.enableVersioning({ type: VersioningType.HEADER, header: 'x-api-version' });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    try {
      const get = async (version: string) =>
        (await app.inject({ url: '/versioned', headers: { 'x-api-version': version } })).json<{
          version: string;
        }>();
      for (let round = 0; round < 2; round++) {
        expect(await get('1')).toEqual({ version: 'one' });
        expect(await get('2')).toEqual({ version: 'two' });
      }
      expect(app.get(VersionOneController).calls).toBe(1);
      expect(app.get(VersionTwoController).calls).toBe(1);
      expect(app.get(ResponseCache).stats()).toMatchObject({ hits: 2, stored: 2 });
    } finally {
      await app.close();
    }
  });
});

describe('ResponseCache on a shared Redis store', () => {
  let redis: RedisServer;
  let first: Harness;
  let second: Harness;
  let client: RedisClientType;

  const connected = (h: Harness) =>
    waitFor('the cache to reach Redis', () => h.queryCache.stats().connected, 5_000);

  beforeAll(async () => {
    redis = await startRedis();
    const options = { store: 'redis' as const, redisUrl: redis.url, namespace: unique('shared') };
    first = await startApp({ ...options, opTimeoutMs: 1_000 });
    second = await startApp({ ...options, opTimeoutMs: 1_000 });
    await connected(first);
    await connected(second);
    client = createClient({ url: redis.url }) as RedisClientType;
    client.on('error', () => undefined);
    await client.connect();
  });

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await first?.app.close();
    await second?.app.close();
    await redis?.stop();
  });

  const mgetCalls = async () =>
    Number(/cmdstat_mget:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0);

  it('a kept response is not reused once another process invalidated one of its tags', async () => {
    const name = unique('remote');
    const url = `/r/value/${name}`;
    await first.get(url);
    expect((await first.get(url)).json()).toMatchObject({ value: 'v0' });
    expect(first.backend.calls('value', name)).toBe(1);

    // The other process writes and invalidates; this one learns it from Redis alone.
    first.backend.values.set(name, 'changed elsewhere');
    await second.queryCache.invalidate([tagOf(name)]);
    expect((await first.get(url)).json()).toMatchObject({ value: 'changed elsewhere' });
    expect(first.backend.calls('value', name)).toBe(2);
    // And the new response is kept again.
    await first.get(url);
    expect(first.backend.calls('value', name)).toBe(2);
  });

  it('concurrent reuses of one kept response share one check of the tokens', async () => {
    const name = unique('shared-check');
    const url = `/r/value/${name}`;
    await first.get(url);
    const before = first.responses.stats();
    const reads = await mgetCalls();
    const answers = await Promise.all(Array.from({ length: 20 }, () => first.get(url)));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(first.backend.calls('value', name)).toBe(1);
    expect(first.responses.stats().hits - before.hits).toBe(20);
    const checks = (await mgetCalls()) - reads;
    expect(checks).toBeGreaterThanOrEqual(1);
    expect(checks).toBeLessThan(20);
    expect(first.responses.stats().storeChecks - before.storeChecks).toBe(checks);
  });

  it('kept responses are not reused while Redis is unreachable; reads still answer', async () => {
    const name = unique('outage');
    const url = `/r/value/${name}`;
    await first.get(url);
    await first.get(url);
    expect(first.backend.calls('value', name)).toBe(1);
    await redis.stop();
    await waitFor('the cache to notice', () => !first.queryCache.stats().connected, 5_000);
    first.backend.values.set(name, 'during the outage');
    const answer = await first.get(url);
    expect(answer.status).toBe(200);
    expect(answer.json()).toMatchObject({ value: 'during the outage' });
    expect(first.backend.calls('value', name)).toBe(2);
  });
});

/** One exchange over a real socket: what the client saw. */
interface RawExchange {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Sends one request with Node's client (which, unlike `fetch`, sends a body with a GET). */
function send(
  origin: string,
  path: string,
  { method = 'GET', body }: { method?: string; body?: string } = {},
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { connection: 'close' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const request = httpRequest(`${origin}${path}`, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          headers: response.headers,
        }),
      );
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** A test application on a real port whose server listener asks `answerEarly` before Fastify. */
interface EarlyHarness {
  app: NestFastifyApplication;
  origin: string;
  responses: ResponseCache;
  queryCache: QueryCache;
  /** Whether the listener asks `answerEarly` (on by default). */
  early: { on: boolean };
}

async function startEarlyApp(
  options: QueryCacheModuleOptions,
  controllers: Type[] = [ResponsesController],
  versioning = false,
  responses: ResponseCacheModuleOptions = {},
): Promise<EarlyHarness> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      QueryCacheModule.forRoot({ store: 'memory', ...options, isGlobal: true }),
      ResponseCacheModule.forRoot(responses),
    ],
    controllers,
    providers: [Backend],
  })
    .setLogger(new SilentLogger())
    .compile();
  const early = { on: true };
  const slot: { responses?: ResponseCache } = {};
  const adapter = new FastifyAdapter({
    serverFactory: (handler: RequestListener) =>
      createServer((request, response) => {
        response.setHeader('x-listener', 'set first');
        if (early.on && slot.responses?.answerEarly(request, response)) return;
        handler(request, response);
      }),
  });
  const app = moduleRef.createNestApplication<NestFastifyApplication>(adapter);
  if (versioning) app.enableVersioning({ type: VersioningType.HEADER, header: 'x-api-version' });
  let exchange = 0;
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (_request, reply, done) => {
      void reply.header('x-exchange', String(++exchange));
      done();
    });
  const cache = app.get(ResponseCache);
  slot.responses = cache;
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    origin: `http://127.0.0.1:${port}`,
    responses: cache,
    queryCache: app.get(QueryCache),
    early,
  };
}

/** Headers that differ between any two exchanges, or that only one of two paths sets. */
function representation(
  headers: RawExchange['headers'],
  drop: readonly string[] = [],
): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!['date', 'connection', 'keep-alive', ...drop].includes(name)) kept[name] = value;
  }
  return kept;
}

describe('ResponseCache.answerEarly (a server listener in front of Fastify)', () => {
  let h: EarlyHarness;
  let backend: Backend;

  beforeAll(async () => {
    h = await startEarlyApp({});
    backend = h.app.get(Backend);
  });

  afterAll(async () => {
    await h?.app.close();
  });

  afterEach(() => {
    h.early.on = true;
  });

  it('answers a kept response from the listener with what Fastify would send, counted as a hit of each read', async () => {
    const name = unique('early');
    const url = `/r/value/${name}`;
    backend.values.set(name, 'one');
    const first = await send(h.origin, url);
    h.early.on = false;
    const viaFastify = await send(h.origin, url);
    h.early.on = true;
    const before = h.responses.stats();
    const queryBefore = h.queryCache.stats();
    const early = await send(h.origin, url);

    expect(backend.calls('value', name)).toBe(1);
    expect(early.status).toBe(200);
    expect(early.body).toBe(first.body);
    expect(early.body).toBe(viaFastify.body);
    expect(JSON.parse(early.body)).toEqual({ name, value: 'one', query: {} });
    // The same headers but the hook's per-exchange one, which is the listener's job here; and
    // the listener's own header, sent with it.
    expect(representation(early.headers)).toEqual(
      representation(viaFastify.headers, ['x-exchange']),
    );
    expect(early.headers).toMatchObject({
      etag: '"one"',
      'content-length': String(Buffer.byteLength(first.body)),
      'x-listener': 'set first',
    });
    expect(early.headers['content-type']).toMatch(/^application\/json/);
    expect(early.headers['x-exchange']).toBeUndefined();
    expect(h.responses.stats().hits - before.hits).toBe(1);
    expect(h.responses.stats().earlyHits - before.earlyHits).toBe(1);
    expect(queryHits(queryBefore, h.queryCache.stats())).toBe(1);
  });

  it('returns what it answered: the route pattern and the status', async () => {
    const name = unique('answer');
    const url = `/r/value/${name}`;
    await send(h.origin, url);
    let answer: unknown;
    h.early.on = false;
    const server = createServer((request, response) => {
      answer = h.responses.answerEarly(request, response);
      if (!answer) response.end('not answered');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const got = await send(`http://127.0.0.1:${port}`, url);
      expect(got.status).toBe(200);
      expect(answer).toEqual({ route: '/r/value/:name', statusCode: 200 });
      await send(`http://127.0.0.1:${port}`, `${url}?never=kept`);
      expect(answer).toBeUndefined();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a write is seen by the very next request, which Fastify answers and keeps again', async () => {
    const name = unique('early-write');
    const url = `/r/value/${name}`;
    await send(h.origin, url);
    await send(h.origin, url);
    const before = h.responses.stats().earlyHits;
    await send(h.origin, url, { method: 'DELETE' });
    const after = await send(h.origin, url);
    expect(JSON.parse(after.body)).toMatchObject({ value: 'deleted' });
    expect(h.responses.stats().earlyHits).toBe(before);
    expect(backend.calls('value', name)).toBe(2);
    const again = await send(h.origin, url);
    expect(again.body).toBe(after.body);
    expect(h.responses.stats().earlyHits).toBe(before + 1);
    expect(backend.calls('value', name)).toBe(2);
  });

  it('answers only a GET of the very URL kept, without a body', async () => {
    const name = unique('early-only');
    const url = `/r/value/${name}`;
    await send(h.origin, url);
    const before = h.responses.stats();

    const head = await send(h.origin, url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const withBody = await send(h.origin, url, { body: '{}' });
    expect(withBody.status).toBe(200);
    const post = await send(h.origin, url, { method: 'POST' });
    expect(JSON.parse(post.body)).toMatchObject({ posted: name });
    const otherQuery = await send(h.origin, `${url}?a=1`);
    expect(JSON.parse(otherQuery.body)).toMatchObject({ query: { a: '1' } });

    expect(h.responses.stats().earlyHits).toBe(before.earlyHits);
    // The GET with a body went through Fastify, whose hook served the kept response; a HEAD is
    // never served from kept responses.
    expect(h.responses.stats().hits - before.hits).toBe(1);
    expect(backend.calls('value', name)).toBe(3); // the first GET, the HEAD and `?a=1`
    expect(backend.calls('post', name)).toBe(1);
  });

  it('never answers what was not kept: a 404, a route without @CacheResponse()', async () => {
    const name = unique('early-not-kept');
    for (let i = 0; i < 2; i++) {
      expect((await send(h.origin, `/r/missing/${name}`)).status).toBe(404);
      expect((await send(h.origin, `/r/plain/${name}`)).status).toBe(200);
    }
    expect(backend.calls('missing', name)).toBe(2);
    expect(backend.calls('plain', name)).toBe(2);
  });

  it('never answers a response the LRU dropped (bounded by entries, large bodies too)', async () => {
    const small = await startEarlyApp({}, [ResponsesController], false, { entries: 2 });
    try {
      const smallBackend = small.app.get(Backend);
      const names = [unique('early-lru-a'), unique('early-lru-b'), unique('early-lru-c')];
      const url = (name: string) => `/r/big/${name}?size=4096`;
      const bodies = new Map<string, string>();
      for (const name of names) bodies.set(name, (await send(small.origin, url(name))).body);
      // a was dropped for c: rendered again; b and c are answered early, byte for byte.
      const before = small.responses.stats().earlyHits;
      for (const name of names.slice(1)) {
        const again = await send(small.origin, url(name));
        expect(again.body).toBe(bodies.get(name));
        expect(again.headers['content-length']).toBe('4096');
      }
      expect(small.responses.stats().earlyHits - before).toBe(2);
      expect(smallBackend.calls('big', names[0])).toBe(1);
      await send(small.origin, url(names[0]));
      expect(smallBackend.calls('big', names[0])).toBe(2);
      expect(small.responses.stats().entries).toBe(2);
    } finally {
      await small.app.close();
    }
  });

  it('a route chosen by a header as well (header versioning) is never answered early', async () => {
    const versioned = await startEarlyApp({}, [VersionOneController, VersionTwoController], true);
    try {
      const get = async (version: string) =>
        JSON.parse(
          (
            await new Promise<RawExchange>((resolve, reject) => {
              const request = httpRequest(
                `${versioned.origin}/versioned`,
                { headers: { 'x-api-version': version, connection: 'close' } },
                (response) => {
                  let body = '';
                  response.on('data', (chunk: Buffer) => (body += chunk.toString()));
                  response.on('end', () =>
                    resolve({ status: response.statusCode ?? 0, body, headers: response.headers }),
                  );
                },
              );
              request.on('error', reject);
              request.end();
            })
          ).body,
        ) as { version: string };
      for (let round = 0; round < 2; round++) {
        expect(await get('1')).toEqual({ version: 'one' });
        expect(await get('2')).toEqual({ version: 'two' });
      }
      expect(versioned.responses.stats()).toMatchObject({ hits: 2, earlyHits: 0, stored: 2 });
    } finally {
      await versioned.app.close();
    }
  });

  it('never answers a response kept under a shared store: its reuse needs the store check', async () => {
    const redis = await startRedis();
    const shared = await startEarlyApp({
      store: 'redis',
      redisUrl: redis.url,
      namespace: unique('early-shared'),
    });
    try {
      await waitFor('the cache to reach Redis', () => shared.queryCache.stats().connected, 5_000);
      const url = `/r/value/${unique('early-redis')}`;
      const first = await send(shared.origin, url);
      const second = await send(shared.origin, url);
      expect(second.body).toBe(first.body);
      expect(shared.responses.stats()).toMatchObject({ hits: 1, earlyHits: 0, storeChecks: 1 });
    } finally {
      await shared.app.close();
      await redis.stop();
    }
  });
});
