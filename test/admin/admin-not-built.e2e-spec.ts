import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API } from '../support/http';
import { type TestApp, startTestApp } from '../support/test-app';

describe('admin page when it is not built', () => {
  let app: TestApp;
  const empty = mkdtempSync(join(tmpdir(), 'admin-empty-'));
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_DIST_DIR: empty });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(empty, { recursive: true, force: true });
  });

  it('answers 404 saying to run npm run build, and the API still works', async () => {
    for (const path of ['/admin', '/admin/', '/admin/assets/index.js']) {
      const res = await fetch(`${app.url}${path}`, { redirect: 'manual' });
      expect(res.status).toBe(404);
      const body = (await res.json()) as { code: string; message: string };
      expect(body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
      expect(body.message).toContain('npm run build');
    }
    expect((await fetch(`${app.url}${API}/usage-types`)).status).toBe(200);
    expect((await fetch(`${app.url}/docs-json`)).status).toBe(200);
  });
});
