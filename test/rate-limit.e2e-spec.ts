import { ResponseCache } from '@lib/query-cache';
import { type TestApp, startTestApp } from './support/test-app';

describe('RATE_LIMIT_PER_MINUTE', () => {
  let limited: TestApp;
  let unlimited: TestApp;

  beforeAll(async () => {
    limited = await startTestApp({ RATE_LIMIT_PER_MINUTE: '5' });
    unlimited = await startTestApp();
  });

  afterAll(async () => {
    await limited?.close();
    await unlimited?.close();
  });

  it('answers 429 RATE_LIMITED with Retry-After past the limit, across all of /api/v1', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await fetch(`${limited.url}/api/v1/usage-types`)).status);
    }
    statuses.push((await fetch(`${limited.url}/api/v1/providers/ollama/models`)).status);
    const over = await fetch(`${limited.url}/api/v1/usage-types/embedding/active`);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(over.headers.get('x-request-id')).toBeTruthy();
    expect(over.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await over.json()).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      code: 'RATE_LIMITED',
      message: expect.stringMatching(/retry in \d+ s/),
    });
  });

  it('counts reads answered from kept responses too (none is answered before the limiter)', async () => {
    const app = await startTestApp({ RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const url = `${app.url}/api/v1/usage-types/chat_deep/active`;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(url)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(app.app.get(ResponseCache).stats()).toMatchObject({ hits: 2, earlyHits: 0 });
    } finally {
      await app.close();
    }
  });

  it('counts percent-encoded paths under /api/v1 too', async () => {
    expect((await fetch(`${limited.url}/%61pi/v1/usage-types`)).status).toBe(429);
  });

  it('never limits the operations endpoints', async () => {
    for (const path of ['/health/live', '/health', '/health/pool', '/metrics']) {
      expect((await fetch(`${limited.url}${path}`)).status).toBe(200);
    }
  });

  it('is off unless set', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 30 }, () =>
        fetch(`${unlimited.url}/api/v1/usage-types`).then((r) => r.status),
      ),
    );
    expect(new Set(statuses)).toEqual(new Set([200]));
  });
});
