import type { Client } from './client';
import type { Reply } from './types';

/** What the load did: requests by kind and status, and every problem it ran into. */
export class Counters {
  requests = 0;
  reads = 0;
  writes = 0;
  writesOk = 0;
  serverErrors = 0;
  transportErrors = 0;
  /** Writes answered with a status the lane's model did not predict. */
  unexpected = 0;
  /** Acknowledged writes whose response body differed from what was sent. */
  wrongAcks = 0;
  readonly byStatus = new Map<string, number>();
  readonly samples: string[] = [];

  /** Counts one answer of `kind` (e.g. `GET active`) with `status` (0: no answer). */
  note(kind: string, status: number): void {
    const key = `${kind} ${status}`;
    this.byStatus.set(key, (this.byStatus.get(key) ?? 0) + 1);
  }

  /** Keeps the first 10 problems, to print. */
  problem(message: string): void {
    if (this.samples.length < 10) this.samples.push(message);
  }
}

/**
 * Sends one request of the mix and counts it (a read when `GET`, else a write), its status under
 * `kind`, and a 5xx or transport error as a problem; resolves undefined when there was no answer.
 */
export async function countedCall(
  client: Client,
  counters: Counters,
  kind: string,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<Reply | undefined> {
  counters.requests++;
  if (method === 'GET') counters.reads++;
  else counters.writes++;
  try {
    const reply = await client.send(method, path, body, headers);
    counters.note(kind, reply.status);
    if (reply.status >= 500) {
      counters.serverErrors++;
      counters.problem(`${method} ${path} → ${reply.status} ${reply.text.slice(0, 200)}`);
    }
    return reply;
  } catch (error) {
    counters.transportErrors++;
    counters.note(kind, 0);
    counters.problem(`${method} ${path} → ${String(error)}`);
    return undefined;
  }
}
