import fastify, { type FastifyInstance } from 'fastify';
import { etagFor, withEtag } from './etag';

describe('etagFor', () => {
  it('is the version as a strong, quoted entity tag', () => {
    expect(etagFor(1)).toBe('"1"');
    expect(etagFor(42)).toBe('"42"');
  });
});

describe('withEtag', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = fastify();
    app.get('/config', (_request, reply) =>
      withEtag(reply, { id: 'a', version: 3, modelId: 'llama3.1:8b' }),
    );
    app.get('/plain', () => ({ id: 'a', version: 3 }));
    await app.ready();
  });

  afterAll(() => app.close());

  it('sends ETag "<version>" with the resource as the body, unchanged', async () => {
    const res = await app.inject({ method: 'GET', url: '/config' });
    expect(res.statusCode).toBe(200);
    expect(res.headers.etag).toBe('"3"');
    expect(res.json()).toEqual({ id: 'a', version: 3, modelId: 'llama3.1:8b' });
  });

  it('returns the very object it was given', () => {
    const headers: Record<string, string> = {};
    const reply = {
      header: (name: string, value: string) => {
        headers[name] = value;
        return reply;
      },
    };
    const resource = { version: 9 };
    expect(withEtag(reply as never, resource)).toBe(resource);
    expect(headers).toEqual({ etag: '"9"' });
  });

  it('is what sets the header: a route without it sends no ETag', async () => {
    const res = await app.inject({ method: 'GET', url: '/plain' });
    expect(res.headers.etag).toBeUndefined();
  });
});
