import { type Command, InvalidArgumentError } from 'commander';
import type { CliContext } from '../context';

/** A command's work; its result is the exit code (undefined: 0). */
export type Action = (ctx: CliContext) => Promise<number | void>;

/** Runs an action with a context built from the command's options (see main.ts). */
export type Run = (command: Command, action: Action) => Promise<void>;

/** An option parser for an integer in `[1, max]` (commander reports anything else: exit 2). */
export function positiveInt(max = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
      throw new InvalidArgumentError(`It must be an integer from 1 to ${max}.`);
    }
    return Number(raw);
  };
}
