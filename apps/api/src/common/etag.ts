import type { FastifyReply } from 'fastify';

/** Anything that carries an optimistic-concurrency version (a ModelConfig, for one). */
export interface Versioned {
  /** Starts at 1 and grows by one on every change. */
  version: number;
}

/**
 * The strong entity tag of a resource at `version`: the version in double quotes. It is the form
 * `parseIfMatch` reads back, so a client can echo an `ETag` into `If-Match` unchanged.
 *
 * @example etagFor(3) // '"3"'
 */
export function etagFor(version: number): string {
  return `"${version}"`;
}

/**
 * Sets the `ETag` of a response carrying one versioned resource, and returns the resource, so a
 * handler can end with `return withEtag(reply, await this.service.get(id))`.
 */
export function withEtag<T extends Versioned>(reply: FastifyReply, resource: T): T {
  void reply.header('etag', etagFor(resource.version));
  return resource;
}
