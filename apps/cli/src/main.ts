#!/usr/bin/env node
// The command-line tool: `npm run cli -- <command>`, or `model-configs <command>` once built.
// It is a client of the public API: of a running server over HTTP (`--url`), or of the real
// application built in this process on the database file (direct mode).
loadDotEnv();

import { Command, CommanderError, Option } from 'commander';
import { registerAdmin } from './commands/admin';
import { registerCheck } from './commands/check';
import { type Run } from './commands/command';
import { registerExport } from './commands/export';
import { registerHistory } from './commands/history';
import { registerImport } from './commands/import';
import { registerRestore } from './commands/restore';
import { CliContext, type GlobalOptions } from './context';
import { ApiFailure, CliError, EXIT } from './errors';
import { colorWanted, palette } from './format';

/** Reads `.env` from the working directory when there is one (real variables win), as main.ts. */
function loadDotEnv(): void {
  try {
    process.loadEnvFile('.env');
  } catch {
    // No .env file: the environment alone configures the tool.
  }
}

/** The program: global options, then every command. */
export function buildProgram(run: Run): Command {
  const program = new Command('model-configs')
    .description(
      'Manage model configs: on the database file directly, or through a running server (--url).',
    )
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addOption(
      new Option('--url <origin>', 'a running server, e.g. http://127.0.0.1:3000').env(
        'MODEL_CONFIGS_URL',
      ),
    )
    .addOption(
      new Option('--api-key <key>', 'API key for writes (with --url)').env('MODEL_CONFIGS_API_KEY'),
    )
    .option('--db <path>', 'the database file in direct mode (default: DUCKDB_PATH or ./data/…)')
    .option('--json', 'print the raw JSON answers (for scripts)')
    .option('--color', 'colour the output even when it is not a terminal')
    .option('--no-color', 'never colour the output (also: NO_COLOR=1)');
  for (const register of [
    registerExport,
    registerImport,
    registerHistory,
    registerRestore,
    registerAdmin,
    registerCheck,
  ]) {
    register(program, run);
  }
  return program;
}

/** Commander's codes for help and version requests: not errors. */
const HELP = new Set(['commander.helpDisplayed', 'commander.version']);

/** Prints `error` as its message (never a stack) and returns the exit code. */
function report(error: unknown, options: GlobalOptions): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message already.
    return HELP.has(error.code) ? EXIT.ok : EXIT.usage;
  }
  const colors = palette(colorWanted(options.color, process.env, process.stderr.isTTY === true));
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${colors.red('error:')} ${message}\n`);
  if (error instanceof ApiFailure && options.json) process.stdout.write(`${error.raw}\n`);
  return error instanceof CliError ? error.exitCode : EXIT.failure;
}

/** Resolves once everything written to `stream` so far has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

async function main(argv: string[]): Promise<void> {
  let exitCode: number = EXIT.ok;
  let options: GlobalOptions = {};
  const run: Run = async (command, action) => {
    options = command.optsWithGlobals<GlobalOptions>();
    const ctx = new CliContext(options);
    try {
      exitCode = (await action(ctx)) ?? EXIT.ok;
    } finally {
      await ctx.close();
    }
  };
  try {
    await buildProgram(run).parseAsync(argv);
  } catch (error) {
    exitCode = report(error, options);
  }
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  // Exit now: nothing the application left behind (timers, sockets) may keep the tool alive.
  process.exit(exitCode);
}

void main(process.argv);
