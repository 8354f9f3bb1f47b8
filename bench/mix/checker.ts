import { API, type SeededConfig } from '../http/dataset';
import { Client } from '../soak/client';

/** What the read-your-writes checker saw. */
export interface CheckerResult {
  /** PATCH + reads completed. */
  checks: number;
  /** Reads (by id or in the usage type's list) that did not show the PATCH just answered. */
  stale: number;
  /** PATCHes or reads that did not answer 200, and transport errors. */
  failures: number;
  /** The first stale answer or failure, for the report. */
  firstProblem?: string;
}

interface ConfigBody {
  id: string;
  modelName: string;
  version: number;
}

/**
 * Read-your-writes under load: until `stop()` says so, one request at a time, PATCHes the `modelName` of one of `configs` (round robin; configs the load never writes),
 * then reads it back by id and through the list filtered by its usage type; any answer without
 * that name and version is stale.
 */
export async function runChecker(
  origin: string,
  configs: readonly SeededConfig[],
  stop: () => boolean,
  tag: string,
): Promise<CheckerResult> {
  const client = new Client(origin, 1);
  const result: CheckerResult = { checks: 0, stale: 0, failures: 0 };
  const problem = (text: string) => (result.firstProblem ??= text);
  try {
    for (let n = 0; !stop(); n++) {
      const config = configs[n % configs.length];
      const modelName = `checked ${tag} ${n}`;
      try {
        const written = await client.send('PATCH', `${API}/model-configs/${config.id}`, {
          modelName,
        });
        if (written.status !== 200) {
          result.failures++;
          problem(`PATCH answered ${written.status}: ${written.text.slice(0, 200)}`);
          continue;
        }
        const { version } = JSON.parse(written.text) as ConfigBody;
        const fresh = (c: ConfigBody | undefined) =>
          c?.modelName === modelName && c.version === version;
        const byId = await client.send('GET', `${API}/model-configs/${config.id}`);
        const list = await client.send('GET', `${API}/model-configs?usageType=${config.usageType}`);
        for (const [what, reply, pickOut] of [
          ['by id', byId, (body: unknown) => body as ConfigBody],
          [
            'list',
            list,
            (body: unknown) =>
              (body as { items: ConfigBody[] }).items.find((c) => c.id === config.id),
          ],
        ] as const) {
          if (reply.status !== 200) {
            result.failures++;
            problem(`GET ${what} answered ${reply.status}`);
          } else if (!fresh(pickOut(JSON.parse(reply.text)))) {
            result.stale++;
            problem(`stale ${what} read after PATCH → version ${version}, "${modelName}"`);
          }
        }
        result.checks++;
      } catch (error) {
        result.failures++;
        problem(String(error));
      }
    }
  } finally {
    client.close();
  }
  return result;
}
