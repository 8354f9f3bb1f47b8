import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { parseJson } from '../api-request';
import type { CliContext } from '../context';
import { EXIT, UsageError } from '../errors';
import type { Run } from './command';

/** The Terminus body of `GET /health`. */
interface Health {
  status?: string;
  details?: Record<string, { status?: string; schemaVersion?: number; [key: string]: unknown }>;
}

/** `check`: the configuration, then the database (direct mode) or the server (`--url`). */
export function registerCheck(program: Command, run: Run): void {
  program
    .command('check')
    .description('validate the configuration and the database (or the server), then exit')
    .action((_options: object, command: Command) => run(command, check));
}

/** Validates the environment as the server would (`loadConfig`); a bad variable exits 2. */
async function checkConfiguration(ctx: CliContext): Promise<{ path: string }> {
  // Loaded here only: HTTP mode otherwise never loads the API's modules.
  const { loadConfig } = await import('../../../api/src/config/app-config');
  const env = ctx.dbPath === undefined ? ctx.env : { ...ctx.env, DUCKDB_PATH: ctx.dbPath };
  try {
    return { path: loadConfig(env).duckdb.path };
  } catch (error) {
    if (error instanceof Error && error.name === 'ConfigError') {
      throw new UsageError(`Invalid configuration: ${error.message}`);
    }
    throw error;
  }
}

async function check(ctx: CliContext): Promise<number> {
  const { path } = await checkConfiguration(ctx);
  const lines = [`configuration  ok`];
  if (ctx.direct && path !== ':memory:' && !existsSync(path)) {
    lines.push(`database       ${path}: no such file (a server creates it when it first starts)`);
    ctx.print(lines.join('\n'));
    return EXIT.failure;
  }
  const response = await ctx.send({ method: 'GET', path: '/health' }, 'checking health');
  const health = (parseJson(response.text) ?? {}) as Health;
  const ok = response.status === 200 && health.status === 'ok';
  if (ctx.options.json) {
    ctx.printJson({ configuration: 'ok', target: (await ctx.open()).target, health });
    return ok ? EXIT.ok : EXIT.failure;
  }
  const schema = health.details?.database?.schemaVersion;
  const target = ctx.direct ? path : (await ctx.open()).target;
  lines.push(`${ctx.direct ? 'database ' : 'server   '}      ${target}`);
  if (schema !== undefined) lines.push(`schema         version ${schema}`);
  for (const [name, indicator] of Object.entries(health.details ?? {})) {
    const status = indicator.status ?? 'unknown';
    const shown = status === 'up' ? ctx.colors.green(status) : ctx.colors.red(status);
    lines.push(`${name.padEnd(15)}${shown}${indicator.degraded ? ' (degraded)' : ''}`);
  }
  const verdict = ok ? ctx.colors.green('ok') : ctx.colors.red(`not ok (HTTP ${response.status})`);
  lines.push(`health         ${verdict}`);
  ctx.print(lines.join('\n'));
  return ok ? EXIT.ok : EXIT.failure;
}
