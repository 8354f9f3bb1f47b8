import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { UsageError } from '../errors';
import { type ImportPlan, formatPlan, planChanges, planSummary } from '../format';
import type { Run } from './command';

interface ImportOptions {
  dryRun?: boolean;
  prune?: boolean;
  yes?: boolean;
  verbose?: boolean;
}

/** `import <file|-> [--dry-run] [--prune] [--yes]`: `POST /api/v1/config/import`. */
export function registerImport(program: Command, run: Run): void {
  program
    .command('import')
    .description('apply a document (JSON or YAML) as the configuration, showing the diff first')
    .argument('<file>', 'the document; - reads it from stdin')
    .option('--dry-run', 'show the plan only; write nothing')
    .option('--prune', 'delete the configs the document lacks')
    .option('--yes', 'apply without showing the plan first')
    .option('--verbose', 'list unchanged slots too')
    .action((file: string, options: ImportOptions, command: Command) =>
      run(command, (ctx) => importConfigs(ctx, file, options)),
    );
}

/** A document to send, with its media type. */
interface Document {
  body: string;
  contentType: string;
}

/** Reads the file (or stdin); `.yaml`/`.yml` is YAML, `.json` JSON, anything else by content. */
export function readDocument(ctx: CliContext, file: string): Document {
  let body: string;
  try {
    // Synchronous: stdin may be a pipe or a file, and fd 0 is read to its end either way.
    body = readFileSync(file === '-' ? 0 : ctx.userPath(file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`Cannot read ${file === '-' ? 'stdin' : ctx.userPath(file)}: ${code}`);
  }
  const extension = file === '-' ? '' : extname(file).toLowerCase();
  const yaml =
    extension === '.yaml' ||
    extension === '.yml' ||
    (extension !== '.json' && !/^\s*[{[]/.test(body));
  return { body, contentType: yaml ? 'application/yaml' : 'application/json' };
}

async function importConfigs(ctx: CliContext, file: string, options: ImportOptions) {
  const document = readDocument(ctx, file);
  const post = async (dryRun: boolean): Promise<ImportPlan> => {
    const query = {
      dryRun: dryRun ? 'true' : undefined,
      prune: options.prune ? 'true' : undefined,
    };
    const response = await ctx.call<ImportPlan>(
      { method: 'POST', path: '/api/v1/config/import', query, ...document },
      dryRun ? 'planning' : 'importing',
    );
    return response.body;
  };
  // Scripts (--json) get one JSON answer: the dry run's, or the import's.
  const preview = options.dryRun || (!options.yes && !ctx.options.json);
  if (preview) {
    const plan = await post(true);
    show(ctx, plan, options.verbose);
    if (options.dryRun) return;
    if (planChanges(plan) === 0) {
      if (!ctx.options.json) ctx.print('Nothing to apply.');
      return;
    }
    if (!(await confirmed(ctx, file))) {
      ctx.print('Not applied.');
      return;
    }
  }
  const applied = await post(false);
  if (preview && !ctx.options.json) ctx.print(ctx.colors.bold(planSummary(applied)));
  else show(ctx, applied, options.verbose);
}

function show(ctx: CliContext, plan: ImportPlan, verbose = false): void {
  if (ctx.options.json) ctx.printJson(plan);
  else ctx.print(formatPlan(plan, ctx.colors, verbose));
}

/**
 * Asks before applying when a person is at the terminal (stdin and stdout are TTYs and the
 * document did not come from stdin); otherwise applies right away.
 */
async function confirmed(ctx: CliContext, file: string): Promise<boolean> {
  if (file === '-' || !process.stdin.isTTY || !process.stdout.isTTY) return true;
  const target = (await ctx.open()).target;
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await prompt.question(`Apply these changes to ${target}? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}
