import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './api-error';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Protects writes: when an API key is configured, every non-GET request under `/api/v1` needs
 * `Authorization: Bearer <key>` or `X-API-Key: <key>`, compared in constant time. A key in the
 * query string is ignored. Without a key configured every request passes.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly expected: Buffer | undefined;

  constructor(apiKey: string | undefined) {
    this.expected = apiKey === undefined ? undefined : digest(apiKey);
  }

  canActivate(context: ExecutionContext): boolean {
    const expected = this.expected;
    if (!expected) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    // The matched route's pattern, not the raw URL: the router decodes `/%61pi/v1/…` to `/api/v1/…`.
    const route = request.routeOptions?.url ?? request.url;
    if (request.method === 'GET' || request.method === 'HEAD' || !route.startsWith('/api/v1/')) {
      return true;
    }
    const candidates: string[] = [];
    const authorization = request.headers.authorization;
    if (typeof authorization === 'string') {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (match) candidates.push(match[1]);
    }
    const header = request.headers['x-api-key'];
    if (typeof header === 'string') candidates.push(header);
    // Compare every candidate, so the time taken does not reveal which header matched.
    let ok = false;
    for (const candidate of candidates) ok = timingSafeEqual(digest(candidate), expected) || ok;
    if (!ok) throw new ApiError(401, 'UNAUTHORIZED', 'A valid API key is required for writes.');
    return true;
  }
}
