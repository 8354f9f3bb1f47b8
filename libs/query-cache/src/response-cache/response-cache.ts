import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RouteConfig } from '@nestjs/platform-fastify';
import { CacheableMemory } from '@cacheable/memory';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import type { ResponseCacheStats } from '../query-cache.interfaces';
import { ReadTracking, type StoreTokens } from '../read-tracking';
import type { TagSnapshot } from '../tag-versions';
import {
  RESOLVED_RESPONSE_CACHE_OPTIONS,
  type ResponseCacheModuleOptions,
} from './response-cache.options';
import { ResponseScope } from './response-scope';

/** The Fastify route-config flag `@CacheResponse()` sets. */
export const CACHE_RESPONSE_CONFIG = 'queryCacheResponse';

/**
 * Marks a `GET` route whose successful responses are kept, rendered, in this process and served
 * again, before Nest's guards, pipes, interceptors and handler run (from a Fastify `preHandler`
 * hook, after every `onRequest` hook), for as long as every value
 * the handler read through `QueryCache.getOrLoad` is still current: until a write invalidates
 * one of their tags, or the first of them expires.
 *
 * Use it only on a route whose response is a function of its URL (path and query) and of what it
 * reads through the query cache: nothing per caller (no guard that varies by caller, no
 * cookies, no `Vary`), nothing read around the cache. Only `200` responses with a text body are
 * kept, never one that sets `Set-Cookie` or `Vary`, nor one whose handler read nothing through
 * the cache or read inside a transaction. Fastify's `onRequest`, `preParsing` and `preValidation`
 * hooks (request id, logging, rate limiting) and its `onSend`/`onResponse` hooks (metrics) still
 * run for every request; `preHandler` hooks added after the response cache's do not. Needs the Fastify adapter; elsewhere the decorator has no effect.
 *
 * @example
 * @Get(':usageType/active')
 * @CacheResponse()
 * active(@Param('usageType') usageType: string) { return this.service.active(usageType); }
 */
export const CacheResponse = (): MethodDecorator => RouteConfig({ [CACHE_RESPONSE_CONFIG]: true });

/** A kept response. */
interface RenderedResponse {
  statusCode: number;
  headers: [string, string | number | string[]][];
  /**
   * The body: its text when small (Node then writes head and body in one piece), its bytes when
   * larger (not encoded again for every answer). One copy, whichever path answers.
   */
  body: string | Buffer;
  /** Where the LRU keeps it (the route's handler and the URL). */
  key: string;
  snapshots: readonly TagSnapshot[];
  /** With a shared store: the epoch and tag tokens of each read, checked before every reuse. */
  tokens?: readonly StoreTokens[];
  /** The route's pattern (`/api/v1/model-configs/:id`), for whoever records an early answer. */
  route: string;
  /**
   * The headers {@link ResponseCache.answerEarly} writes, as Node's flat `[name, value, …]` list:
   * the kept ones and `content-length`.
   */
  rawHeaders: string[];
  /** What {@link ResponseCache.answerEarly} returns for it (one object per kept response). */
  answer: EarlyAnswer;
  /** Epoch milliseconds after which it is never reused. */
  expiresAt: number;
}

/**
 * A request {@link ResponseCache.answerEarly} answered: the same object for every answer of one
 * kept response (a key for whatever the caller records per route).
 */
export interface EarlyAnswer {
  /** The pattern of the route whose kept response was sent (`/api/v1/model-configs/:id`). */
  readonly route: string;
  readonly statusCode: number;
}

/** Bodies up to this size are kept as text, larger ones as bytes. */
const SMALL_BODY_BYTES = 1024;

/** Headers that describe one exchange, not the representation: never kept. */
const PER_EXCHANGE_HEADERS = new Set([
  'content-length',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'retry-after',
  'x-request-id',
  'request-id',
  'server-timing',
]);
const RATE_LIMIT_HEADER = /^(x-)?ratelimit/;

const SCOPE = Symbol('queryCacheResponseScope');
type ScopedRequest = FastifyRequest & { [SCOPE]?: ResponseScope | null };

/**
 * Keeps the rendered responses of `@CacheResponse()` routes in a bounded LRU in this process and
 * serves them from a Fastify `preHandler` hook (see {@link CacheResponse}): after every
 * `onRequest` hook, global or per route (rate limiting adds its own per route). A kept response is
 * reused only while the tag versions its reads started under are current (`ReadTracking`):
 * invalidations bump them synchronously, in this process, before the write that caused them
 * answers, so the next read after a write never gets the old response. With a shared store
 * (Redis), where other processes may invalidate, a kept response is also reused only after one
 * `MGET` shows the epoch and tag tokens its reads were made under unchanged (concurrent requests
 * share it); while the store is unavailable kept responses are not reused.
 *
 * Every reuse counts as a hit of each read it stands for in `QueryCache.stats()`. An app may also
 * answer kept responses from its HTTP server's own listener, before Fastify: {@link answerEarly}.
 */
@Injectable()
export class ResponseCache implements OnModuleInit {
  private readonly logger = new Logger('ResponseCache');
  private readonly entries: CacheableMemory;
  /**
   * The same responses by URL alone (not those kept under a shared store), for answerEarly: a
   * `Map`, each entry until it expires and only while the LRU keeps it (at most `entries`). Its
   * lookup is a fraction of the LRU's, on a path that costs a few microseconds.
   */
  private readonly byUrl = new Map<string, RenderedResponse>();
  private readonly maxEntries: number;
  private readonly counters = { hits: 0, earlyHits: 0, misses: 0, stored: 0, storeChecks: 0 };
  private readonly checks = new Map<RenderedResponse, Promise<boolean>>();
  /** A number per route handler: versioned routes share a URL but not a handler. */
  private readonly handlerIds = new WeakMap<object, number>();
  private lastHandlerId = 0;
  /** By route pattern: whether Fastify serves a `GET` of it without constraints. */
  private readonly unconstrained = new Map<string, boolean>();
  private fastify: FastifyInstance | undefined;
  private readonly enabled: boolean;
  private readonly maxBodyBytes: number;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly tracking: ReadTracking,
    @Inject(RESOLVED_RESPONSE_CACHE_OPTIONS) options: Required<ResponseCacheModuleOptions>,
  ) {
    this.enabled = options.entries > 0;
    this.maxBodyBytes = options.maxBodyBytes;
    this.maxEntries = Math.max(1, options.entries);
    // Kept responses are never mutated: no cloning. One shard: hashing every URL to pick one of
    // the default 16 costs more than a cache hit saves on this path.
    this.entries = new CacheableMemory({
      useClone: false,
      lruSize: this.maxEntries,
      storeHashSize: 1,
      checkInterval: 0,
    });
    // A response the LRU drops (evicted or replaced) leaves the URL index too: the index never
    // keeps alive what the LRU let go.
    this.entries.onHook('BEFORE_DELETE', (key: string) => {
      const url = key.slice(key.indexOf(' ') + 1);
      if (this.byUrl.get(url)?.key === key) this.byUrl.delete(url);
    });
  }

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (!this.enabled || !adapter) return;
    if (adapter.getType() !== 'fastify') {
      this.logger.warn('@CacheResponse() needs the Fastify adapter; responses are not kept.');
      return;
    }
    const fastify = adapter.getInstance<FastifyInstance>();
    this.fastify = fastify;
    fastify.decorateRequest(SCOPE, null);
    fastify.addHook('preHandler', (request, reply, done) =>
      this.beforeHandler(request, reply, done),
    );
    fastify.addHook('onSend', (request: ScopedRequest, reply, payload, done) => {
      const scope = request[SCOPE];
      if (scope) {
        request[SCOPE] = null;
        this.keep(reply, payload, scope);
      }
      done(null, payload);
    });
  }

  /**
   * Answers `request` with a kept response from Node's `request` listener itself, before Fastify
   * parses, routes or runs any hook for it, for an app whose server listener calls this ahead of
   * Fastify's. It answers only a `GET` that announces no body, whose exact URL (path and query,
   * byte for byte) a `@CacheResponse()` route answered, while that response is still current in
   * this process, and never one kept under a shared store (its reuse needs a store check);
   * anything else returns `undefined`, untouched, for Fastify to handle. The response is the one
   * Fastify would send for the hit (status, kept headers, body, `Content-Length`), plus `headers`
   * (a flat `[name, value, …]` list, as Node's `writeHead` takes) and any the caller set on
   * `response` first (setting none is faster).
   *
   * What Fastify's hooks do for a request (request ids, logs, metrics, rate limits, refusing
   * requests while closing) is then the caller's: the returned answer names the route, for
   * metrics and logs. A route with Fastify constraints (Nest's header or media-type versioning)
   * is never answered here; a path served both by such a route and by one without constraints
   * must not be `@CacheResponse()` in an app that calls this. Do not call it while a Fastify hook
   * must see every request (rate limiting).
   *
   * @example
   * createServer((request, response) => {
   *   const id = requestIdOf(request);
   *   if (responseCache.answerEarly(request, response, ['x-request-id', id])) return;
   *   response.setHeader('x-request-id', id);
   *   fastifyHandler(request, response);
   * });
   */
  answerEarly(
    request: IncomingMessage,
    response: ServerResponse,
    headers: readonly string[] = [],
  ): EarlyAnswer | undefined {
    if (request.method !== 'GET' || !this.enabled) return undefined;
    if (request.headers['transfer-encoding'] !== undefined) return undefined;
    const length = request.headers['content-length'];
    if (length !== undefined && length !== '0') return undefined;
    const url = request.url ?? '';
    const entry = this.byUrl.get(url);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.byUrl.delete(url);
      return undefined;
    }
    if (!this.allCurrent(entry.snapshots)) return undefined;
    this.countHit(entry);
    this.counters.earlyHits++;
    response.writeHead(entry.statusCode, entry.rawHeaders.concat(headers));
    response.end(entry.body);
    return entry.answer;
  }

  /** Counters and size, for metrics. */
  stats(): ResponseCacheStats {
    return { ...this.counters, entries: this.entries.size };
  }

  private beforeHandler(
    request: ScopedRequest,
    reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ): void {
    if (request.method !== 'GET') return done();
    const route = request.routeOptions;
    const config = route.config as unknown as Record<string, unknown> | undefined;
    if (config?.[CACHE_RESPONSE_CONFIG] !== true) return done();
    const key = `${this.handlerId(route.handler)} ${request.url}`;
    const entry = this.entries.get<RenderedResponse>(key);
    if (!entry || !this.allCurrent(entry.snapshots)) {
      return this.render(key, request, reply, done);
    }
    if (!entry.tokens) return this.serve(entry, reply);
    // A shared store: another process may have invalidated a tag; one MGET tells.
    void this.stillCurrent(entry, entry.tokens).then((current) => {
      if (current) this.serve(entry, reply);
      else this.render(key, request, reply, done);
    });
  }

  /** Whether no invalidation touched the tags of any of these reads since they were made. */
  private allCurrent(snapshots: readonly TagSnapshot[]): boolean {
    for (let i = 0; i < snapshots.length; i++) {
      if (!this.tracking.isCurrent(snapshots[i])) return false;
    }
    return true;
  }

  /** A reuse: one response-cache hit, and a query-cache hit for each read it stands for. */
  private countHit(entry: RenderedResponse): void {
    this.counters.hits++;
    this.tracking.countHits(entry.snapshots.length);
  }

  private serve(entry: RenderedResponse, reply: FastifyReply): void {
    this.countHit(entry);
    void reply.code(entry.statusCode);
    for (const [name, value] of entry.headers) void reply.header(name, value);
    void reply.send(entry.body);
  }

  /** Runs the route, recording what it reads, so that its response can be kept. */
  private render(
    key: string,
    request: ScopedRequest,
    reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ): void {
    this.counters.misses++;
    const scope = new ResponseScope(key, { ...reply.getHeaders() });
    request[SCOPE] = scope;
    // Observed until the response is sent or the connection closes.
    reply.raw.once('close', this.tracking.observeUntilClosed(scope, done));
  }

  /** Concurrent requests for one kept response share one check of the store's tokens. */
  private stillCurrent(entry: RenderedResponse, tokens: readonly StoreTokens[]): Promise<boolean> {
    let check = this.checks.get(entry);
    if (!check) {
      this.counters.storeChecks++;
      const started = this.tracking
        .storeCurrent(tokens)
        // Never leave a request waiting: an unexpected failure is a stale entry.
        .catch(() => false)
        .finally(() => {
          if (this.checks.get(entry) === started) this.checks.delete(entry);
        });
      check = started;
      this.checks.set(entry, check);
    }
    return check;
  }

  private indexByUrl(url: string, entry: RenderedResponse): void {
    this.byUrl.delete(url);
    this.byUrl.set(url, entry);
    if (this.byUrl.size > this.maxEntries) {
      const oldest = this.byUrl.keys().next();
      if (!oldest.done) this.byUrl.delete(oldest.value);
    }
  }

  /**
   * Whether a `GET` of `pattern` is served by a route without constraints: a URL of a route that
   * Fastify chooses by a header as well (Nest's header or media-type versioning) is never
   * answered early.
   */
  private routedByUrl(pattern: string): boolean {
    let unconstrained = this.unconstrained.get(pattern);
    if (unconstrained === undefined) {
      unconstrained = this.fastify?.hasRoute({ method: 'GET', url: pattern }) === true;
      this.unconstrained.set(pattern, unconstrained);
    }
    return unconstrained;
  }

  private handlerId(handler: object): number {
    let id = this.handlerIds.get(handler);
    if (id === undefined) {
      id = ++this.lastHandlerId;
      this.handlerIds.set(handler, id);
    }
    return id;
  }

  private keep(reply: FastifyReply, payload: unknown, scope: ResponseScope): void {
    if (reply.statusCode !== 200 || typeof payload !== 'string') return;
    if (scope.isUntracked || scope.snapshots.length === 0) return;
    const shared = this.tracking.sharedStore;
    // With a shared store, a read that skipped it (unavailable) cannot be checked later.
    if (shared && scope.tokens.some((tokens) => tokens === undefined)) return;
    const bytes = Buffer.byteLength(payload);
    if (bytes > this.maxBodyBytes) return;
    const ttlMs = Math.floor(scope.expiresAt - Date.now());
    if (!(ttlMs > 0)) return;
    if (!this.allCurrent(scope.snapshots)) return;
    const headers: RenderedResponse['headers'] = [];
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value === undefined) continue;
      if (name === 'set-cookie' || name === 'vary') return;
      if (name === 'cache-control' && /\b(no-store|private)\b/i.test(String(value))) return;
      // Set by an earlier hook, which sets it again on every request (unless the route changed it).
      if (sameHeader(scope.headersBefore[name], value)) continue;
      if (PER_EXCHANGE_HEADERS.has(name)) continue;
      if (RATE_LIMIT_HEADER.test(name)) continue;
      headers.push([name, value]);
    }
    const route = reply.request.routeOptions.url ?? '';
    const rawHeaders: string[] = [];
    for (const [name, value] of headers) {
      for (const one of Array.isArray(value) ? value : [value]) rawHeaders.push(name, String(one));
    }
    rawHeaders.push('content-length', String(bytes));
    const entry: RenderedResponse = {
      statusCode: reply.statusCode,
      headers,
      body: bytes > SMALL_BODY_BYTES ? Buffer.from(payload) : payload,
      key: scope.key,
      snapshots: scope.snapshots,
      ...(shared ? { tokens: scope.tokens as StoreTokens[] } : {}),
      route,
      rawHeaders,
      answer: Object.freeze({ route, statusCode: reply.statusCode }),
      expiresAt: Date.now() + ttlMs,
    };
    this.entries.set(scope.key, entry, ttlMs);
    if (!shared && this.routedByUrl(route)) this.indexByUrl(reply.request.url, entry);
    this.counters.stored++;
  }
}

function sameHeader(before: unknown, now: unknown): boolean {
  if (before === undefined) return false;
  if (Array.isArray(before) || Array.isArray(now))
    return JSON.stringify(before) === JSON.stringify(now);
  return String(before) === String(now);
}
