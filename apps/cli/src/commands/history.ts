import type { Command } from 'commander';
import type { CliContext } from '../context';
import { UsageError } from '../errors';
import { type HistoryEntry, type HistoryPage, formatHistory } from '../format';
import { type Run, positiveInt } from './command';

interface HistoryOptions {
  config?: string;
  limit?: number;
  all?: boolean;
}

/** `history <usageType>` / `history --config <id>`: the change history, newest first. */
export function registerHistory(program: Command, run: Run): void {
  program
    .command('history')
    .description("list the changes of a usage type's configs (or of one config), newest first")
    .argument('[usageType]', 'the usage type, e.g. chat_deep')
    .option('--config <id>', 'the history of one config (by id) instead')
    .option('--limit <n>', 'rows per page (1..500, default 50)', positiveInt(500))
    .option('--all', 'follow the pages to the oldest change')
    .action((usageType: string | undefined, options: HistoryOptions, command: Command) =>
      run(command, (ctx) => history(ctx, usageType, options)),
    );
}

/** The history route of a usage type or of a config. */
function historyPath(usageType: string | undefined, configId: string | undefined): string {
  if ((usageType === undefined) === (configId === undefined)) {
    throw new UsageError('history needs a usage type or --config <id> (one of them)');
  }
  return configId !== undefined
    ? `/api/v1/model-configs/${encodeURIComponent(configId)}/history`
    : `/api/v1/usage-types/${encodeURIComponent(usageType as string)}/history`;
}

async function history(ctx: CliContext, usageType: string | undefined, options: HistoryOptions) {
  const path = historyPath(usageType, options.config);
  const items: HistoryEntry[] = [];
  let cursor: string | undefined;
  let page: HistoryPage;
  do {
    const query = { limit: options.limit?.toString(), cursor };
    page = (await ctx.call<HistoryPage>({ method: 'GET', path, query }, 'reading history')).body;
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (options.all && cursor !== undefined);

  if (ctx.options.json) {
    ctx.printJson({ items, nextCursor: options.all ? null : page.nextCursor });
    return;
  }
  if (items.length === 0) {
    ctx.print('No history.');
    return;
  }
  ctx.print(formatHistory(items, ctx.colors));
  if (!options.all && page.nextCursor !== null) {
    ctx.print(ctx.colors.dim(`(older changes: add --all, or a larger --limit)`));
  }
}
