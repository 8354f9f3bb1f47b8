import type { Command } from 'commander';
import { parseJson } from '../api-request';
import type { CliContext } from '../context';
import { UsageError } from '../errors';
import type { Run } from './command';

/** `seed`, `reset` and `migrate`. */
export function registerAdmin(program: Command, run: Run): void {
  program
    .command('seed')
    .description('insert each default config whose slot is free')
    .action((_options: object, command: Command) => run(command, seed));
  program
    .command('reset')
    .description('delete every config and seed the defaults, in one transaction (needs --yes)')
    .option('--yes', 'really delete every config')
    .action((options: { yes?: boolean }, command: Command) =>
      run(command, (ctx) => reset(ctx, options.yes === true)),
    );
  program
    .command('migrate')
    .description('open the database file, apply pending migrations, print the schema version')
    .action((_options: object, command: Command) => run(command, migrate));
}

async function seed(ctx: CliContext): Promise<void> {
  const response = await ctx.call<{ inserted: number }>(
    { method: 'POST', path: '/api/v1/model-configs/seed' },
    'seeding',
  );
  if (ctx.options.json) return ctx.printJson(response.body);
  const inserted = response.body.inserted;
  ctx.print(
    inserted === 0
      ? 'Nothing seeded: every default slot is taken.'
      : `Seeded ${inserted} default config(s).`,
  );
}

async function reset(ctx: CliContext, yes: boolean): Promise<void> {
  if (!yes) {
    throw new UsageError('reset deletes every config and seeds the defaults: add --yes to do it');
  }
  const response = await ctx.call<{ deleted: number; inserted: number }>(
    { method: 'POST', path: '/api/v1/model-configs/reset' },
    'resetting',
  );
  if (ctx.options.json) return ctx.printJson(response.body);
  const { deleted, inserted } = response.body;
  ctx.print(`Reset: deleted ${deleted} config(s), inserted ${inserted} default(s).`);
}

/** `details.database` of `GET /health/database`. */
interface DatabaseHealth {
  details?: { database?: { schemaVersion?: number; file?: string } };
}

/** Opening the application runs the migrations; `/health/database` reports the version. */
async function migrate(ctx: CliContext): Promise<number> {
  if (!ctx.direct) {
    throw new UsageError(
      'migrate works on the database file (a server applies migrations when it starts): drop --url',
    );
  }
  const transport = await ctx.open();
  const response = await ctx.send({ method: 'GET', path: '/health/database' });
  const body = (parseJson(response.text) ?? {}) as DatabaseHealth;
  const schemaVersion = body.details?.database?.schemaVersion;
  if (ctx.options.json) {
    ctx.printJson({ database: transport.target, schemaVersion, status: response.status });
  } else {
    ctx.print(`Database ${transport.target} is at schema version ${schemaVersion ?? 'unknown'}.`);
  }
  return response.status === 200 ? 0 : 1;
}
