import request from 'supertest';
import { startTestApp } from '../support/test-app';
it('boots', async () => {
  const t = await startTestApp();
  const r = await request(t.url).get('/api/v1/model-configs');
  expect(r.status).toBe(200);
  await t.close();
});
