import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  type ServerProcess,
  cleanupServers,
  makeTempDir,
  startServer,
  stopServer,
} from '../process/server-process';
import { type CliRun, describeRun, runCli, runNpmCli } from './run-cli';

/**
 * The command-line tool run as a child process: in direct mode on a DuckDB file (the application
 * built in the tool's process), and against a running server over HTTP (`--url`).
 */

interface DocumentItem {
  priority: number;
  modelId: string;
  modelName: string;
  provider: string;
  enabled: boolean;
  parameters: Record<string, unknown>;
}
interface ConfigDocument {
  usageTypes: Record<string, DocumentItem[]>;
}
interface HistoryRow {
  seq: number;
  configId: string;
  version: number;
  operation: string;
  action: string;
  actor: string | null;
  after: { modelName: string } | null;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[/;

function expectExit(run: CliRun, code: number): CliRun {
  if (run.code !== code) throw new Error(`Expected exit ${code}, got ${describeRun(run)}`);
  return run;
}

/** Runs the tool and expects `code`. */
async function cli(args: string[], code = 0, env: Record<string, string> = {}): Promise<CliRun> {
  return expectExit(await runCli(args, { env }), code);
}

/** The document with the inference model renamed and a second embedding model added. */
function modified(document: ConfigDocument): ConfigDocument {
  const copy = structuredClone(document);
  copy.usageTypes.inference[0].modelName = 'Llama 3.1 8B Instruct';
  copy.usageTypes.embedding.push({
    priority: 2,
    modelId: 'bge-m3',
    modelName: 'BGE M3',
    provider: 'ollama',
    enabled: true,
    parameters: { dimensions: 1024 },
  });
  return copy;
}

describe('model-configs CLI', () => {
  jest.setTimeout(60_000);
  const dir = makeTempDir('mcs-cli-');
  const db = join(dir, 'direct.duckdb');
  // Direct mode on a file that starts empty: `seed` fills it.
  const direct = (args: string[], code = 0) => cli([...args, '--db', db], code, NO_SEED);
  const NO_SEED = { SEED_ON_EMPTY: 'false' };
  let seededExport = '';
  let inferenceId = '';

  afterAll(async () => {
    await cleanupServers();
  });

  describe('direct mode, on the database file', () => {
    it('seeds, then exports JSON, and YAML to a file', async () => {
      expect((await direct(['seed'])).stdout).toBe('Seeded 9 default config(s).\n');
      seededExport = (await direct(['export'])).stdout;
      const document = JSON.parse(seededExport) as ConfigDocument;
      expect(Object.keys(document.usageTypes)).toHaveLength(9);
      expect(document.usageTypes.embedding).toEqual([
        {
          priority: 1,
          modelId: 'nomic-embed-text',
          modelName: 'Nomic Embed Text',
          provider: 'ollama',
          enabled: true,
          parameters: {},
        },
      ]);
      const out = join(dir, 'export.yaml');
      const run = await direct(['export', '--format', 'yaml', '--out', out]);
      expect(run.stdout).toMatch(/^Exported to .*export\.yaml \(\d+ bytes\)\.\n$/);
      const yamlText = readFileSync(out, 'utf8');
      expect(yamlText).toMatch(/^usageTypes:\n {2}chat_deep:\n {4}- priority: 1\n/);
      expect(yamlText).toContain('modelId: nomic-embed-text');
    });

    it('import --dry-run prints the diff and writes nothing', async () => {
      const file = join(dir, 'modified.yaml');
      writeFileSync(file, stringify(modified(JSON.parse(seededExport) as ConfigDocument)));
      const run = await direct(['import', file, '--dry-run']);
      expect(run.stdout).not.toMatch(ANSI);
      expect(run.stdout).toBe(
        [
          '+ create     embedding #2  bge-m3',
          '~ update     inference #1  llama3.1:8b',
          '      modelName: "Llama 3.1 8B" → "Llama 3.1 8B Instruct"',
          '  (8 unchanged)',
          'Dry run: 1 to create, 1 to update, 0 to delete, 8 unchanged; nothing written.',
          '',
        ].join('\n'),
      );
      expect((await direct(['export'])).stdout).toBe(seededExport);
    });

    it('import shows the plan, applies it, and export reflects it', async () => {
      const run = await direct(['import', join(dir, 'modified.yaml')]);
      expect(run.stdout).toContain('+ create     embedding #2  bge-m3');
      expect(run.stdout).toMatch(/Applied: 1 created, 1 updated, 0 deleted, 8 unchanged\.\n$/);
      const document = JSON.parse((await direct(['export'])).stdout) as ConfigDocument;
      expect(document).toEqual(modified(JSON.parse(seededExport) as ConfigDocument));
    });

    it('history lists the changes, made by the actor "cli"', async () => {
      const table = (await direct(['history', 'embedding'])).stdout.split('\n');
      expect(table[0]).toMatch(/^seq +time +actor +operation +action +priority +modelId +version$/);
      expect(table[1]).toMatch(/ cli +\w+ +create +2 +bge-m3 +1$/);
      expect(table[2]).toMatch(/ cli +seed +create +1 +nomic-embed-text +1$/);

      const rows = JSON.parse((await direct(['--json', 'history', 'inference'])).stdout) as {
        items: HistoryRow[];
        nextCursor: string | null;
      };
      expect(rows.nextCursor).toBeNull();
      expect(rows.items.map((row) => [row.action, row.version, row.actor])).toEqual([
        ['update', 2, 'cli'],
        ['create', 1, 'cli'],
      ]);
      expect(rows.items[0].after?.modelName).toBe('Llama 3.1 8B Instruct');
      inferenceId = rows.items[0].configId;
    });

    it('restores a config version, recorded in its history', async () => {
      const id = inferenceId;
      const run = await direct(['restore', '--config', id, '--version', '1', '--if-match', '2']);
      expect(run.stdout).toBe(
        `Restored config ${id} (inference #1) to the content of version 1: now version 3, model llama3.1:8b.\n`,
      );
      const history = JSON.parse((await direct(['--json', 'history', '--config', id])).stdout) as {
        items: HistoryRow[];
      };
      const [latest] = history.items;
      expect([latest.operation, latest.action, latest.version, latest.actor]).toEqual([
        'restore',
        'update',
        3,
        'cli',
      ]);
      expect(latest.after?.modelName).toBe('Llama 3.1 8B');
    });

    it('reset needs --yes', async () => {
      const refused = await direct(['reset'], 2);
      expect(refused.stderr).toContain('add --yes');
      const run = await direct(['reset', '--yes']);
      expect(run.stdout).toBe('Reset: deleted 10 config(s), inserted 9 default(s).\n');
      expect((await direct(['export'])).stdout).toBe(seededExport);
    });

    it('migrate prints the schema version; check reports the database', async () => {
      expect((await direct(['migrate'])).stdout).toMatch(/is at schema version [1-9]\d*\.\n$/);
      const check = (await direct(['check'])).stdout;
      expect(check).toMatch(/^configuration {2}ok\n/);
      expect(check).toMatch(/\nhealth +ok\n$/);
    });
  });

  describe('url mode, against a running server', () => {
    const key = 'cli-e2e-key-0123456789';
    let server: ServerProcess;
    let url: string;

    beforeAll(async () => {
      // A copy of the direct-mode file as those tests left it: the defaults, after `reset`.
      const copy = join(dir, 'served.duckdb');
      copyFileSync(db, copy);
      server = await startServer({ dbPath: copy, env: { API_KEYS: `ops:${key}` } });
      url = server.baseUrl;
    });

    afterAll(async () => {
      if (server) await stopServer(server);
    });

    it('exports byte for byte what direct mode exported from the same data', async () => {
      const run = await cli(['export', '--url', url]);
      expect(run.stdout).toBe(seededExport);
    });

    it('refuses a write with a wrong key (exit 1, UNAUTHORIZED)', async () => {
      const run = await cli(['seed', '--url', url, '--api-key', 'not-the-key-at-all'], 1);
      expect(run.stderr).toContain('UNAUTHORIZED');
      const viaEnv = await cli(['seed'], 0, { MODEL_CONFIGS_URL: url, MODEL_CONFIGS_API_KEY: key });
      expect(viaEnv.stdout).toBe('Nothing seeded: every default slot is taken.\n');
    });

    it('imports a document from stdin (dry run, coloured on request)', async () => {
      const input = JSON.stringify(modified(JSON.parse(seededExport) as ConfigDocument));
      const run = await runCli(['import', '-', '--dry-run', '--color', '--url', url], {
        input,
        env: { MODEL_CONFIGS_API_KEY: key },
      });
      expectExit(run, 0);
      expect(run.stdout).toContain('\u001b[32m+ create     embedding #2  bge-m3\u001b[39m');
      expect(run.stdout).toContain('Dry run: 1 to create, 1 to update, 0 to delete, 8 unchanged');
    });

    it("prints an API error's code and message and exits 1", async () => {
      const history = await cli(['--json', 'history', 'inference', '--url', url]);
      const [row] = (JSON.parse(history.stdout) as { items: HistoryRow[] }).items;
      const args = ['restore', '--config', row.configId, '--version', '1', '--if-match', '7'];
      const stale = await cli([...args, '--url', url], 1, { MODEL_CONFIGS_API_KEY: key });
      expect(stale.stderr).toBe(
        'error: VERSION_MISMATCH (412): If-Match does not name the current version.\n',
      );
      expect(stale.stdout).toBe('');
    });

    it('direct mode on the file the server holds exits 3, pointing at --url', async () => {
      const run = await cli(['export', '--db', server.dbPath], 3);
      expect(run.stderr).toMatch(/is in use by a running server/);
      expect(run.stderr).toContain('--url');
      expect(run.stdout).toBe('');
    });

    it('check reports the server', async () => {
      const run = await cli(['check', '--url', url]);
      expect(run.stdout).toContain(`server         ${url}`);
      expect(run.stdout).toMatch(/\nhealth +ok\n$/);
    });
  });

  describe('usage and configuration errors', () => {
    it('check with a malformed variable exits 2, naming it', async () => {
      const run = await cli(['check', '--db', db], 2, { DUCKDB_POOL_MAX: 'many' });
      expect(run.stderr).toContain('DUCKDB_POOL_MAX');
      expect(run.stderr).not.toMatch(/\n\s+at /);
    });

    it('npm run cli works, and a bad option exits 2', async () => {
      const help = expectExit(await runNpmCli(['--help']), 0);
      expect(help.stdout).toContain('Usage: model-configs');
      const bad = await cli(['export', '--format', 'xml'], 2);
      expect(bad.stderr).toContain('Allowed choices are json, yaml');
    });
  });
});
