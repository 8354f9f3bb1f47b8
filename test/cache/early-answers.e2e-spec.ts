import { connect, type Socket } from 'node:net';
import { ResponseCache } from '@lib/query-cache';
import { sleep } from '@lib/common/testing';
import { type TestApp, startTestApp } from '../support/test-app';

/**
 * Kept responses answered by the server's listener before Fastify (`EarlyAnswers`), seen from a
 * client: the same answer Fastify gives, and none once the app starts closing.
 */

const ACTIVE = '/api/v1/usage-types/chat_deep/active';

/** Everything received on `socket` until `done(text)` says it is complete (or 5 s pass). */
function readUntil(socket: Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`No complete answer: ${text}`)), 5_000);
    const finish = () => {
      clearTimeout(timer);
      resolve(text);
    };
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (done(text)) finish();
    });
    socket.on('end', finish);
    socket.on('error', reject);
  });
}

/** Whether `text` holds a whole HTTP response with a `Content-Length` body. */
function complete(text: string): boolean {
  const head = text.indexOf('\r\n\r\n');
  if (head < 0) return false;
  const length = /content-length: (\d+)/i.exec(text.slice(0, head));
  return length !== null && Buffer.byteLength(text.slice(head + 4)) >= Number(length[1]);
}

describe('Kept responses answered before Fastify (EarlyAnswers)', () => {
  jest.setTimeout(30_000);
  let app: TestApp;

  beforeEach(async () => {
    app = await startTestApp();
  });

  afterEach(async () => {
    await app?.close();
  });

  it('answers a kept read with what Fastify answers, the client request id echoed', async () => {
    const first = await fetch(`${app.url}${ACTIVE}`, { headers: { 'x-request-id': 'first' } });
    const again = await fetch(`${app.url}${ACTIVE}`, { headers: { 'x-request-id': 'again' } });
    expect(app.app.get(ResponseCache).stats().earlyHits).toBe(1);
    expect(again.status).toBe(200);
    expect(await again.text()).toBe(await first.text());
    const headers = (response: Response) =>
      [...response.headers.entries()].filter(([name]) => !['date', 'x-request-id'].includes(name));
    expect(headers(again)).toEqual(headers(first));
    expect(again.headers.get('x-request-id')).toBe('again');
    expect(again.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('once the app starts closing, a kept read is not answered early: Fastify answers 503', async () => {
    await fetch(`${app.url}${ACTIVE}`);
    await fetch(`${app.url}${ACTIVE}`);
    const cache = app.app.get(ResponseCache);
    expect(cache.stats().earlyHits).toBe(1);

    // A request begun before the app closes (so its connection is not idle and stays open),
    // finished once the server has stopped listening.
    const { port } = new URL(app.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(`GET ${ACTIVE} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    await sleep(50);
    const closing = app.app.close();
    const server = app.app.getHttpServer();
    for (let i = 0; i < 500 && server.listening; i++) await sleep(10);
    expect(server.listening).toBe(false);

    const answer = readUntil(socket, complete);
    socket.write('\r\n');
    const text = await answer;
    socket.destroy();
    await closing;

    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(text).toContain('"code":"DATABASE_UNAVAILABLE"');
    expect(cache.stats().earlyHits).toBe(1);
  });
});
