/**
 * The ceiling: raw Fastify 5 answering each measured request with its fixed JSON body, rendered
 * once at startup (`BODIES_FILE`: `{"<METHOD> <path?query>": body}`), on a static route per path.
 * No validation, no database. `PORT` (0 = any), `HOST`; prints `LISTENING <port>`.
 */
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';

async function main(): Promise<void> {
  const file = process.env.BODIES_FILE;
  if (!file) throw new Error('BODIES_FILE is required');
  const bodies = new Map<string, string>();
  for (const [key, body] of Object.entries(JSON.parse(readFileSync(file, 'utf8')) as object)) {
    bodies.set(key, JSON.stringify(body));
  }
  const app = Fastify({ logger: false });
  const handler = (request: FastifyRequest, reply: FastifyReply) => {
    const body = bodies.get(`${request.method} ${request.url}`);
    if (body === undefined) return reply.code(404).send({ statusCode: 404 });
    return reply.type('application/json; charset=utf-8').send(body);
  };
  const routes = new Set([...bodies.keys()].map((key) => key.split('?')[0]));
  for (const route of routes) {
    const [method, url] = route.split(' ');
    app.route({ method: method as 'GET' | 'PUT', url, handler });
  }
  await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
  const address = app.server.address();
  process.stdout.write(`LISTENING ${typeof address === 'object' && address ? address.port : 0}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
