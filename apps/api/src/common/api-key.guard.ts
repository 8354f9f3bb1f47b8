import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ApiKeyEntry } from '../config/app-config';
import { ApiError } from './api-error';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

const ACTOR = Symbol('apiKeyLabel');

/** The label of the API key that authorized `request` (undefined: none needed or given). */
export function actorOf(request: object): string | undefined {
  return (request as { [ACTOR]?: string })[ACTOR];
}

/**
 * Protects writes: when an API key is configured, every non-GET request under `/api/v1` needs
 * `Authorization: Bearer <key>` or `X-API-Key: <key>`, compared in constant time with every
 * configured key. The matching key's label is the request's actor ({@link actorOf}), which the
 * history records. A key in the query string is ignored. Without a key configured every request
 * passes.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly expected: { label: string; digest: Buffer }[];

  constructor(apiKeys: readonly ApiKeyEntry[]) {
    this.expected = apiKeys.map(({ label, key }) => ({ label, digest: digest(key) }));
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.expected.length === 0) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    // The matched route's pattern, not the raw URL: the router decodes `/%61pi/v1/…` to `/api/v1/…`.
    const route = request.routeOptions?.url ?? request.url;
    if (request.method === 'GET' || request.method === 'HEAD' || !route.startsWith('/api/v1/')) {
      return true;
    }
    this.authorize(request);
    return true;
  }

  /**
   * Checks `request`'s key whatever its method (a read that a setting protects, such as the
   * change stream with `EVENTS_REQUIRE_KEY`), and records its label as the actor.
   * @throws ApiError 401 when keys are configured and none matches.
   */
  authorize(request: FastifyRequest): void {
    const expected = this.expected;
    if (expected.length === 0) return;
    const candidates: string[] = [];
    const authorization = request.headers.authorization;
    if (typeof authorization === 'string') {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (match) candidates.push(match[1]);
    }
    const header = request.headers['x-api-key'];
    if (typeof header === 'string') candidates.push(header);
    // Compare every candidate with every key, so the time taken does not reveal which matched.
    let label: string | undefined;
    for (const candidate of candidates) {
      const given = digest(candidate);
      for (const key of expected) if (timingSafeEqual(given, key.digest)) label ??= key.label;
    }
    if (label === undefined) {
      throw new ApiError(401, 'UNAUTHORIZED', 'A valid API key is required for writes.');
    }
    (request as { [ACTOR]?: string })[ACTOR] = label;
  }
}
