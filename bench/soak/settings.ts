import type { BenchContext } from '../support/benchmark';
import { startScriptNodeFlags } from '../support/server-process';
import { MAX_CONNECTIONS, MAX_DURATION_S, type Settings } from './types';

/**
 * Reads the soak options from the command line, with their defaults (5 minutes, 50 in flight,
 * 15% writes, 32 MiB growth limit) and hard bounds; refuses a malformed `--env` or a
 * `--write-share` of 1 or more.
 */
export function parseSettings(ctx: BenchContext): Settings {
  const env = parseEnv(ctx.args.string('env'));
  const writeShare = ctx.args.number('write-share', 0.15);
  if (writeShare >= 1) throw new RangeError('--write-share must be below 1');
  const raw = ctx.args.string('probe');
  return {
    durationS: Math.min(MAX_DURATION_S, ctx.args.number('duration', 300)),
    connections: Math.min(MAX_CONNECTIONS, Math.round(ctx.args.number('connections', 50))),
    writeShare,
    growthLimitMiB: ctx.args.number('growth-limit', 32),
    maxRequests: Math.round(ctx.args.number('max-requests', 20_000_000)),
    env,
    gc: ctx.args.flag('gc'),
    nodeOptions:
      ctx.args.string('node-options') === undefined
        ? startScriptNodeFlags(ctx.args.string('app-root'))
        : (ctx.args.string('node-options') ?? '').split(/\s+/).filter(Boolean),
    probe: raw === undefined || raw !== 'false',
    tsNode: ctx.args.flag('ts-node'),
    appRoot: ctx.args.string('app-root'),
  };
}

/** `NAME=value[,NAME=value]` as a record. */
function parseEnv(option: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of (option ?? '').split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new RangeError(`--env takes NAME=value[,NAME=value], got "${pair}"`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}
