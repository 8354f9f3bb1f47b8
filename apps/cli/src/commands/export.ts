import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { CliContext } from '../context';
import { CliError } from '../errors';
import type { Run } from './command';

interface ExportOptions {
  format: 'json' | 'yaml';
  out?: string;
}

/** `export [--format json|yaml] [--out <file>]`: `GET /api/v1/config/export`. */
export function registerExport(program: Command, run: Run): void {
  program
    .command('export')
    .description('print every config as a document (stable order, no server fields)')
    .addOption(
      new Option('--format <format>', 'document format').choices(['json', 'yaml']).default('json'),
    )
    .option('--out <file>', 'write the document to a file instead of stdout')
    .action((options: ExportOptions, command: Command) =>
      run(command, (ctx) => exportConfigs(ctx, options)),
    );
}

async function exportConfigs(ctx: CliContext, options: ExportOptions): Promise<void> {
  const response = await ctx.call(
    { method: 'GET', path: '/api/v1/config/export', query: { format: options.format } },
    'exporting',
  );
  if (options.out === undefined) {
    // The document exactly as the API answered it, so two exports compare byte for byte.
    process.stdout.write(response.text);
    if (process.stdout.isTTY && !response.text.endsWith('\n')) process.stdout.write('\n');
    return;
  }
  const path = ctx.userPath(options.out);
  try {
    writeFileSync(path, response.text);
  } catch (error) {
    throw new CliError(`Cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  if (ctx.options.json) ctx.printJson({ file: path, bytes: Buffer.byteLength(response.text) });
  else ctx.print(`Exported to ${path} (${Buffer.byteLength(response.text)} bytes).`);
}
