import type { Command } from 'commander';
import type { CliContext } from '../context';
import { UsageError } from '../errors';
import { table } from '../format';
import { type Run, positiveInt } from './command';

interface RestoreOptions {
  config?: string;
  version?: number;
  at?: string;
  ifMatch?: string;
}

/** The parts of a config the tool prints. */
interface Config {
  id: string;
  usageType: string;
  priority: number;
  modelId: string;
  provider: string;
  enabled: boolean;
  version: number;
}

/**
 * `restore --config <id> --version <n>` (`POST /model-configs/:id/restore/:version`) and
 * `restore <usageType> --at <time>` (`POST /usage-types/:usageType/restore?at=`).
 */
export function registerRestore(program: Command, run: Run): void {
  program
    .command('restore')
    .description('put a config back at one of its versions, or a whole chain as it was at a time')
    .argument('[usageType]', 'the usage type whose chain to restore (with --at)')
    .option('--config <id>', 'the config to restore (with --version)')
    .option('--version <n>', 'the version of the config to bring back', positiveInt())
    .option('--at <time>', 'an ISO 8601 time: the chain as it was then')
    .option('--if-match <v>', 'only if the current version (config) or history seq (chain) is v')
    .action((usageType: string | undefined, options: RestoreOptions, command: Command) =>
      run(command, (ctx) =>
        usageType === undefined
          ? restoreConfig(ctx, options)
          : restoreChain(ctx, usageType, options),
      ),
    );
}

/** `If-Match` from `--if-match`: a bare number is quoted, anything else (`*`, `"3"`) kept. */
function ifMatchHeader(value: string | undefined): Record<string, string> {
  if (value === undefined) return {};
  return { 'if-match': /^\d+$/.test(value) ? `"${value}"` : value };
}

async function restoreConfig(ctx: CliContext, options: RestoreOptions): Promise<void> {
  if (options.config === undefined || options.version === undefined || options.at !== undefined) {
    throw new UsageError(
      'restore needs --config <id> --version <n>, or a usage type with --at <time>',
    );
  }
  const response = await ctx.call<Config>(
    {
      method: 'POST',
      path: `/api/v1/model-configs/${encodeURIComponent(options.config)}/restore/${options.version}`,
      headers: ifMatchHeader(options.ifMatch),
    },
    'restoring',
  );
  const config = response.body;
  if (ctx.options.json) return ctx.printJson(config);
  const what = response.status === 201 ? 'Re-created the deleted config' : 'Restored config';
  ctx.print(
    `${what} ${config.id} (${config.usageType} #${config.priority}) to the content of version ` +
      `${options.version}: now version ${config.version}, model ${config.modelId}.`,
  );
}

async function restoreChain(ctx: CliContext, usageType: string, options: RestoreOptions) {
  if (options.at === undefined || options.config !== undefined || options.version !== undefined) {
    throw new UsageError(
      'restore <usageType> needs --at <time> (and no --config/--version); ' +
        'a single config is restored with --config <id> --version <n>',
    );
  }
  const response = await ctx.call<{ usageType: string; items: Config[] }>(
    {
      method: 'POST',
      path: `/api/v1/usage-types/${encodeURIComponent(usageType)}/restore`,
      query: { at: options.at },
      headers: ifMatchHeader(options.ifMatch),
    },
    'restoring',
  );
  if (ctx.options.json) return ctx.printJson(response.body);
  const items = response.body.items;
  ctx.print(`Restored ${usageType} as it was at ${options.at}: ${items.length} config(s).`);
  if (items.length === 0) return;
  const rows = items.map((c) => [
    String(c.priority),
    c.modelId,
    c.provider,
    c.enabled ? 'yes' : 'no',
    String(c.version),
  ]);
  const columns = [
    { title: 'priority', right: true },
    { title: 'modelId' },
    { title: 'provider' },
    { title: 'enabled' },
    { title: 'version', right: true },
  ];
  ctx.print(table(columns, rows, ctx.colors));
}
