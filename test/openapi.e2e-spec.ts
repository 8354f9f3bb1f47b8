import request from 'supertest';
import { expectCommonHeaders } from './support/http';
import { type TestApp, startTestApp } from './support/test-app';

interface OpenApiDocument {
  openapi: string;
  info: { title: string };
  servers?: { url: string }[];
  paths: Record<string, Record<string, unknown>>;
}

/** The resource routes of API.md §2, in OpenAPI path syntax, without the `/api/v1` prefix. */
const ROUTES: [string, string[]][] = [
  ['/model-configs', ['get', 'post']],
  ['/model-configs/grouped', ['get']],
  ['/model-configs/{id}', ['get', 'patch', 'delete']],
  ['/model-configs/by-slot/{usageType}/{priority}', ['put', 'delete']],
  ['/model-configs/bulk', ['post']],
  ['/model-configs/seed', ['post']],
  ['/model-configs/reset', ['post']],
  ['/usage-types', ['get']],
  ['/usage-types/{usageType}/active', ['get']],
  ['/usage-types/{usageType}/fallback-chain', ['get']],
  ['/usage-types/{usageType}/models/{modelId}', ['get']],
  ['/usage-types/{usageType}/chain', ['put']],
  ['/providers/{provider}/models', ['get']],
  // History and restore
  ['/model-configs/{id}/history', ['get']],
  ['/usage-types/{usageType}/history', ['get']],
  ['/model-configs/{id}/restore/{version}', ['post']],
  ['/usage-types/{usageType}/restore', ['post']],
  // Configuration as code
  ['/config/export', ['get']],
  ['/config/import', ['post']],
  // Change stream
  ['/events', ['get']],
  ['/usage-types/{usageType}/events', ['get']],
  ['/events/log', ['get']],
];

describe('OpenAPI', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('serves the OpenAPI document at /docs-json with every resource route', async () => {
    const res = await request(app.url).get('/docs-json');
    expect(res.status).toBe(200);
    expectCommonHeaders(res.headers);
    expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
    const doc = JSON.parse(res.text) as OpenApiDocument;
    expect(doc.openapi).toMatch(/^3\./);
    expect(typeof doc.info.title).toBe('string');
    // The /api/v1 prefix is in the paths or in servers[].url (API.md §3).
    const serverPrefix = (doc.servers ?? [])
      .map((server) => new URL(server.url, 'http://host').pathname.replace(/\/$/, ''))
      .find((path) => path.endsWith('/api/v1'));
    const fullPaths = Object.keys(doc.paths).map((path) => `${serverPrefix ?? ''}${path}`);
    for (const [route, methods] of ROUTES) {
      const full = `/api/v1${route}`;
      expect(fullPaths).toContain(full);
      const item = doc.paths[serverPrefix ? route : full];
      for (const method of methods) expect(item).toHaveProperty(method);
    }
  });

  it('documents the API key on writes', async () => {
    const doc = JSON.parse((await request(app.url).get('/docs-json')).text) as OpenApiDocument;
    const post = JSON.stringify(doc.paths['/api/v1/model-configs']?.post ?? {});
    expect(post).toMatch(/security/);
  });

  it('serves the OpenAPI UI at /docs as HTML', async () => {
    const res = await request(app.url).get('/docs').redirects(2);
    expect(res.status).toBe(200);
    expectCommonHeaders(res.headers);
    expect(String(res.headers['content-type'])).toMatch(/^text\/html/);
    expect(res.text).toMatch(/<html/i);
    expect(res.text).toMatch(/swagger/i);
  });
});
