import { Agent, request as httpRequest } from 'node:http';
import { REQUEST_TIMEOUT_MS, type Reply } from './types';

/** Keep-alive HTTP on loopback, one request per socket at a time. */
export class Client {
  private readonly agent: Agent;

  constructor(
    private readonly baseUrl: string,
    connections: number,
  ) {
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: connections,
      maxFreeSockets: connections,
    });
  }

  /** Sends one request (`body` as JSON) and resolves with the whole answer; rejects on a transport error or after {@link REQUEST_TIMEOUT_MS}. */
  send(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    return new Promise((resolveReply, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const all: Record<string, string> = { ...headers };
      if (payload) {
        all['content-type'] = 'application/json';
        all['content-length'] = String(payload.length);
      }
      const req = httpRequest(
        new URL(path, this.baseUrl),
        { method, headers: all, agent: this.agent, timeout: REQUEST_TIMEOUT_MS },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('error', reject);
          res.on('end', () => resolveReply({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Closes the kept-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}
